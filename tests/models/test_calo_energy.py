"""The layer-energy mixture: its units from hand-made layers, a fit that recovers a known law, its use in G."""

from __future__ import annotations

import math

import pytest
import torch

from nnlab.models.calo_energy import LayerEnergyMixture, energy_units, layer_energies
from nnlab.errors import ConfigError
from nnlab.models.calogan.generator import CaloGenerator, _with_outer_share
from nnlab.models.calogan.inference import generate
from nnlab.models.calogan.layout import cells_per_layer, flatten_layers

pytestmark = pytest.mark.usefixtures("one_thread")


def test_units_of_hand_made_layers_and_back():
    # 10 GeV in, 5 + 3 + 1 GeV deposited: r = 0.9, layer 0 holds 5/9 of it, layer 1 3/4 of the rest
    energies = torch.tensor([[5000.0, 3000.0, 1000.0]])
    units = energy_units(energies, torch.tensor([10.0]))
    expected = [math.log(p / (1 - p)) for p in (0.9, 5 / 9, 3 / 4)]
    assert units[0].tolist() == pytest.approx(expected, rel=1e-6)
    assert layer_energies(units, torch.tensor([10.0]))[0].tolist() == pytest.approx(energies[0].tolist(), rel=1e-5)


def test_an_empty_layer_stays_finite():
    units = energy_units(torch.tensor([[0.0, 3000.0, 0.0]]), torch.tensor([10.0]))
    assert torch.isfinite(units).all()
    back = layer_energies(units, torch.tensor([10.0]))[0]
    assert back[1] == pytest.approx(3000.0, rel=1e-4) and back[0] < 0.01 and back[2] < 0.01


def _known_law(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Units whose law is known: u0 = 3 + x + 0.2 e0 (x the condition), u1 = -u0 / 2 + 0.5 e1, u2 = +-1 + 0.1 e2."""
    x = torch.rand(n, 1, generator=generator) * 2 - 1
    e = torch.randn(n, 3, generator=generator)
    u0 = 3 + x[:, 0] + 0.2 * e[:, 0]
    u1 = -u0 / 2 + 0.5 * e[:, 1]
    u2 = torch.where(torch.rand(n, generator=generator) < 0.3, 1.0, -1.0) + 0.1 * e[:, 2]
    return torch.stack([u0, u1, u2], dim=1), x


def test_the_fit_recovers_a_known_conditional_law():
    torch.manual_seed(0)
    units, condition = _known_law(4000, torch.Generator().manual_seed(1))
    model = LayerEnergyMixture(condition_dim=1, n_components=4, width=32)
    model.fit(units, condition, steps=600, seed=0, batch_size=512, lr=1e-2)
    assert not any(p.requires_grad for p in model.parameters())  # frozen after the fit: the GAN does not move it
    drawn = model.sample(condition, generator=torch.Generator().manual_seed(2))
    residual_0 = drawn[:, 0] - 3 - condition[:, 0]
    assert abs(residual_0.mean()) < 0.05 and residual_0.std() == pytest.approx(0.2, rel=0.15)
    residual_1 = drawn[:, 1] + drawn[:, 0] / 2
    assert abs(residual_1.mean()) < 0.05 and residual_1.std() == pytest.approx(0.5, rel=0.1)
    assert (drawn[:, 2] > 0).float().mean() == pytest.approx(0.3, abs=0.03)  # both modes, in their proportion
    assert (drawn[:, 2].abs() - 1).std() == pytest.approx(0.1, rel=0.3)


def test_the_same_seed_fits_and_draws_the_same_units():
    units, condition = _known_law(500, torch.Generator().manual_seed(1))
    draws = []
    for _ in range(2):
        torch.manual_seed(0)
        model = LayerEnergyMixture(condition_dim=1, n_components=2, width=8)
        model.fit(units, condition, steps=20, seed=3, batch_size=100)
        draws.append(model.sample(condition, generator=torch.Generator().manual_seed(4)))
    assert torch.equal(*draws)


def _mixture_generator(**kwargs) -> CaloGenerator:
    torch.manual_seed(0)
    return CaloGenerator(latent_dim=8, width=32, layer_energies="mixture", **kwargs)


@pytest.mark.parametrize("spots", [False, True])
def test_given_units_set_each_layers_energy_exactly(spots):
    G = _mixture_generator(round_to_spots=spots, spot_sampling="random")
    energy = torch.linspace(1.0, 100.0, 16)
    units = torch.randn(16, 3) + torch.tensor([4.0, 0.0, 1.0])
    layers = G(torch.randn(16, 8), energy, units=units)
    cells = flatten_layers(layers)
    assert cells.min() >= 0 and (cells == 0).any()
    assert torch.allclose(cells_per_layer(cells), layer_energies(units, energy), rtol=1e-4)


def test_fitted_on_showers_the_generator_draws_their_energies():
    cells = torch.rand(600, 504) * (torch.rand(600, 504) < 0.3)
    cells[:, :288] *= 10  # layer 0 holds about two thirds of the energy
    energy = cells.sum(dim=1) / 1e3 / 0.95  # a response of 0.95
    G = _mixture_generator()
    G.fit_layer_energies(cells, energy, torch.zeros(600, dtype=torch.long), steps=300, seed=0)
    showers = generate(G, energy.double().numpy(), seed=0)
    deposited = sum(showers[f"layer_{k}"].reshape(600, -1).sum(axis=1) for k in range(3))
    assert (deposited / (energy.numpy() * 1e3)).mean() == pytest.approx(0.95, abs=0.01)
    share_0 = showers["layer_0"].reshape(600, -1).sum(axis=1) / deposited
    expected = (cells[:, :288].sum(dim=1) / cells.sum(dim=1)).mean()
    assert share_0.mean() == pytest.approx(float(expected), abs=0.02)
    again = generate(G, energy.double().numpy(), seed=0)
    assert all((showers[key] == again[key]).all() for key in showers)


def test_damaged_weights_give_nan_units_not_a_crash_in_the_draw():
    model = LayerEnergyMixture(condition_dim=1, n_components=2, width=8)
    with torch.no_grad():
        model.nets[0][-1].bias.fill_(float("inf"))
    drawn = model.sample(torch.zeros(4, 1))
    assert drawn.shape == (4, 3) and torch.isnan(drawn[:, 0]).all()


def test_units_are_refused_by_a_generator_that_splits_the_energies_itself():
    G = CaloGenerator(latent_dim=8, width=32)
    with pytest.raises(ValueError, match="mixture"):
        G(torch.randn(2, 8), torch.ones(2), units=torch.zeros(2, 3))


@pytest.mark.parametrize("spots", [False, True])
def test_the_outer_rows_hold_the_given_share_of_layer_0_and_read_back(spots):
    # layer 0's rows are 160 mm apart: with a share s in the outer rows and a symmetric split, its width is 160 sqrt(s)
    G = _mixture_generator(outer_shares=(0,), round_to_spots=spots, spot_sampling="random")
    if spots:
        G.spot_coefficients[..., 0] = math.log(2.5)  # 2.5 MeV spots: a share of 0.001 of 11.9 GeV is 4.7 spots
    energy = torch.full((8,), 20.0)
    share = torch.linspace(0.001, 0.3, 8)
    units = torch.cat([torch.tensor([[3.0, 0.5, 1.0]]).expand(8, 3), torch.logit(share)[:, None]], dim=1)
    cells = flatten_layers(G(torch.randn(8, 8), energy, units=units))
    rows = cells[:, :288].reshape(8, 3, 96).sum(dim=2)
    assert not spots or (cells[:, :288][cells[:, :288] > 0] >= 2.5 * 0.5).all()  # whole (stretched) spots
    assert torch.allclose(rows[:, [0, 2]].sum(dim=1) / rows.sum(dim=1), share, rtol=1e-4)
    assert torch.allclose(cells_per_layer(cells), layer_energies(units, energy), rtol=1e-4)  # the energies kept
    assert torch.allclose(G.shower_units(cells, energy), units, atol=1e-3)


def test_outer_shares_of_two_layers_each_hold_and_read_back():
    G = _mixture_generator(outer_shares=(1, 0), round_to_spots=True, spot_sampling="random")
    G.spot_coefficients[..., 0] = math.log(0.5)
    energy = torch.full((6,), 50.0)
    shares = torch.stack([torch.linspace(0.02, 0.2, 6), torch.linspace(0.001, 0.01, 6)], dim=1)  # layers 1, 0
    units = torch.cat([torch.tensor([[3.0, -0.5, 1.0]]).expand(6, 3), torch.logit(shares)], dim=1)
    cells = flatten_layers(G(torch.randn(6, 8), energy, units=units))
    rows_1 = cells[:, 288:432].reshape(6, 12, 12).sum(dim=2)
    outer_1 = rows_1.sum(dim=1) - rows_1[:, 5:7].sum(dim=1)
    assert torch.allclose(outer_1 / rows_1.sum(dim=1), shares[:, 0], rtol=1e-4)
    assert torch.allclose(G.shower_units(cells, energy), units, atol=1e-3)


@pytest.mark.parametrize("layers", [(0, 0), (3,)])
def test_outer_shares_name_each_layer_once(layers):
    with pytest.raises(ConfigError, match="outer_shares"):
        CaloGenerator(latent_dim=8, width=32, layer_energies="mixture", outer_shares=layers)


def test_a_share_under_half_a_spot_leaves_the_outer_rows_empty():
    G = _mixture_generator(outer_shares=(0,), round_to_spots=True, spot_sampling="random")
    G.spot_coefficients[..., 0] = math.log(2.5)
    share = torch.tensor([1e-6, 2e-4, 1e-3])  # of layer 0's 11.9 GeV: 0.012, 2.4 and 11.9 MeV
    units = torch.cat([torch.tensor([[3.0, 0.5, 1.0]]).expand(3, 3), torch.logit(share)[:, None]], dim=1)
    layer_0 = G(torch.randn(3, 8), torch.full((3,), 20.0), units=units)[0]
    assert layer_0[:, [0, 2]].flatten(1).gt(0).any(dim=1).tolist() == [False, True, True]


def test_outer_rows_the_generator_left_empty_stay_empty():
    shape = torch.zeros(2, 3, 96)
    shape[:, 1, 40:50] = 0.1  # all in the central row
    out = _with_outer_share(shape.reshape(2, -1), torch.tensor([[0.2], [0.0]]), 0).reshape(2, 3, 96)
    assert (out[:, [0, 2]] == 0).all() and torch.allclose(out, shape)


def test_the_outer_share_needs_the_mixture():
    with pytest.raises(ConfigError, match="mixture"):
        CaloGenerator(latent_dim=8, width=32, outer_shares=(0,))
