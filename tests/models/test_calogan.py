"""CaloGAN generator and discriminator: layout, exact zeros, energy scaling and training, generate, losses."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from nnlab.data.calo import read_calogan, write_calogan
from nnlab.errors import ConfigError
from nnlab.models.calogan.conditioning import encode_condition
from nnlab.models.calogan.consistency import energy_consistency
from nnlab.models.calogan.critic import CaloDiscriminator, critic_cells, leakage_feature, linear_view
from nnlab.models.calogan.generator import CaloGenerator
from nnlab.models.calogan.inference import CompiledGenerator, generate
from nnlab.models.calogan.layout import N_CELLS, flatten_layers, split_cells
from nnlab.models.calogan.spots import dithered_counts, in_whole_spots, random_int16, spot_counts
from nnlab.physics.geometry import LAYER_SHAPES
from nnlab.physics import simulator
from nnlab.physics.simulator import simulate
from nnlab.training.gan_losses import discriminator_loss, generator_loss, gradient_penalty


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: thread hand-offs cost more than they save


# a layer's random numbers for the spot counts, as CaloGenerator.draw_noise draws them, seeded
G_NOISE = {"random": lambda shape: torch.rand(shape, generator=torch.Generator().manual_seed(0)),
           "dither": lambda shape: random_int16(shape, torch.Generator().manual_seed(0), "cpu")}


def _tiny(seed: int = 0, **kwargs) -> CaloGenerator:
    torch.manual_seed(seed)
    return CaloGenerator(latent_dim=8, width=32, **kwargs)


def _total_mev(layers) -> torch.Tensor:
    return flatten_layers(layers).sum(dim=1)


@pytest.mark.parametrize("train, depth", [(True, 2), (False, 2), (True, 1)])
def test_layer_shapes_dtype_non_negative_with_exact_zeros(train, depth):
    G = _tiny(depth=depth).train(train)
    assert all(sum(isinstance(m, torch.nn.Linear) for m in stream.body) == depth for stream in G.streams)
    layers = G(torch.randn(16, 8), torch.linspace(1.0, 100.0, 16))
    assert [tuple(image.shape[1:]) for image in layers] == list(LAYER_SHAPES)
    assert all(image.shape[0] == 16 and image.dtype == torch.float32 for image in layers)
    cells = flatten_layers(layers)
    assert cells.min() >= 0
    assert (cells == 0).any() and (cells > 0).any()  # the ReLU leaves exact zeros beside hot cells


def test_total_scales_with_the_requested_energy_and_never_exceeds_it():
    G = _tiny().eval()
    z = torch.randn(32, 8).repeat(2, 1)  # the same latents at both energies
    energy = torch.cat([torch.full((32,), 10.0), torch.full((32,), 90.0)])
    with torch.no_grad():
        total = _total_mev(G(z, energy))
    assert torch.all(total <= energy * 1e3 * (1 + 1e-5))  # response r = sigmoid(.) <= 1 by construction
    ratio = total[32:] / total[:32]
    assert torch.all(ratio > 3.0) and torch.all(ratio < 27.0)  # ~9 from the energy scaling alone


@pytest.mark.parametrize("target", [0.995, 0.3])
def test_the_response_can_start_at_the_training_mean(target):
    z, energy = torch.randn(256, 8), torch.full((256,), 50.0)
    G = _tiny()
    with torch.no_grad():
        before = (_total_mev(G(z, energy)) / 50e3).mean().item()
        G.start_at_response(target)
        after = (_total_mev(G(z, energy)) / 50e3).mean().item()
    assert abs(after - target) < 0.25 * abs(before - target)  # the bias moves; the weights' spread stays


def test_the_critic_reads_empty_small_and_hot_cells_apart():
    x = critic_cells(torch.tensor([0.0, 0.01, 0.1, 1.0, 2e4]))
    assert x[0] == 0.0 and x[-1] == pytest.approx(1.0)
    assert x[1] == pytest.approx(np.log1p(0.1) / np.log1p(2e5), rel=1e-5)  # log1p(E / 0.1 MeV) / log1p(2e5)
    assert x[1] > 7 * np.log1p(0.01) / 10  # 0.01 MeV weighs ~8x more than under log1p(E / MeV) / 10
    assert torch.all(x[1:] > x[:-1])


def test_rounding_to_spots_leaves_whole_spots_exact_zeros_and_gradients_everywhere():
    G = _tiny(round_to_spots=True)
    G.spot_coefficients[..., 0] = float(np.log(2.5))  # a 2.5 MeV spot at every energy and share
    energy = torch.linspace(5.0, 100.0, 16)
    layers = G(torch.randn(16, 8), energy)
    for image in layers:
        flat = image.detach().flatten(1)
        smallest = torch.where(flat > 0, flat, torch.inf).amin(dim=1, keepdim=True)
        spot = smallest / (smallest / 2.5).round()  # E_layer / N: 2.5 MeV give or take the rounding
        assert torch.all((spot > 2.0) & (spot < 3.0))
        torch.testing.assert_close(flat / spot, (flat / spot).round(), rtol=1e-5, atol=1e-5)  # whole spots
    cells = flatten_layers(layers)
    assert cells.min() >= 0 and (cells == 0).any()
    assert torch.all(cells.sum(dim=1) <= energy * 1e3 * (1 + 1e-5))
    (cells * torch.rand_like(cells)).sum().backward()  # straight through the rounding
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


def test_rounding_to_spots_keeps_each_layers_energy():
    cells = torch.tensor([[0.4, 0.4, 0.4, 3.0], [1.6, 1.6, 0.0, 0.0]])  # MeV; 1 MeV spots
    energy = cells.sum(dim=1, keepdim=True)  # 4.2 and 3.2 MeV
    rounded = in_whole_spots(cells, energy, torch.ones(2, 1), sampling="nearest")
    # 0.4 MeV cells round away, 1.6 up to 2: the spots stretch (4.2 / 3) or shrink (3.2 / 4) to keep the energy
    torch.testing.assert_close(rounded, torch.tensor([[0.0, 0.0, 0.0, 4.2], [1.6, 1.6, 0.0, 0.0]]))


def test_spot_counts_fall_like_poisson_counts():
    expected = torch.tensor([0.0, 0.3, 2.0, 50.0]).repeat(50_000, 1)  # spots G expects per cell
    counts = spot_counts(expected, torch.rand(expected.shape, generator=torch.Generator().manual_seed(0)))
    assert torch.all(counts == counts.round()) and torch.all(counts[:, 0] == 0)
    poisson = [math.exp(-0.3) * 0.3**k / math.factorial(k) for k in range(3)]  # P(N = k) at 0.3 expected
    assert set(counts[:, 1].unique().tolist()) == {0.0, 1.0, 2.0, 3.0}
    for k in range(3):
        assert abs((counts[:, 1] == k).double().mean() - poisson[k]) < 0.005, k
    # at 2 expected: P(N = 0) moves to one spot
    poisson = [math.exp(-2.0) * 2.0**k / math.factorial(k) for k in range(6)]
    assert counts[:, 2].min() == 1 and abs((counts[:, 2] == 1).double().mean() - poisson[0] - poisson[1]) < 0.01
    for k in range(2, 6):
        assert abs((counts[:, 2] == k).double().mean() - poisson[k]) < 0.01, k
    assert abs(counts[:, 3].mean() - 50.0) < 0.1 and abs(counts[:, 3].var() / 50.0 - 1) < 0.05  # Poisson: var = mean


def test_spot_counts_stay_finite_at_both_ends_of_the_uniform_draw():
    expected = torch.tensor([[0.0, 0.3, 2.0, 50.0]])
    ends = {}
    for end in (0.0, 1 - 2**-24):  # torch.rand's smallest and largest float32 values
        uniform = torch.full(expected.shape, end)
        ends[end] = spot_counts(expected, uniform)[0]
        assert torch.all(uniform == end)  # the caller's draws are left as they were
    assert ends[0.0].tolist()[:3] == [0.0, 0.0, 1.0] and 1 <= ends[0.0][3] < 25  # the law's lowest counts
    assert ends[1 - 2**-24].tolist()[:2] == [0.0, 3.0] and ends[1 - 2**-24][3] > 75  # and its highest
    assert all(torch.isfinite(counts).all() for counts in ends.values())  # erfinv(+-1) is infinite


def test_dithered_spot_counts_keep_the_mean_and_stay_within_one_spot():
    expected = torch.tensor([0.0, 0.3, 2.4, 50.0]).repeat(50_000, 1)
    counts = dithered_counts(expected, random_int16(expected.shape, torch.Generator().manual_seed(0), "cpu"))
    for column, (low, p_high) in enumerate([(0.0, 0.0), (0.0, 0.3), (2.0, 0.4), (50.0, 0.0)]):
        # floor(x + u): the whole numbers either side of x, the upper one with probability frac(x)
        assert set(counts[:, column].unique().tolist()) <= {low, low + 1}
        assert abs((counts[:, column] == low + 1).double().mean() - p_high) < 0.01, column


@pytest.mark.parametrize("sampling", ["random", "dither"])
def test_random_spots_keep_each_layers_energy_seeded_and_pass_gradients_straight_through(sampling):
    cells = torch.tensor([0.0, 0.3, 2.0, 50.0]).repeat(100, 1).requires_grad_()  # MeV; 1 MeV spots
    energy, spot = cells.detach().sum(dim=1, keepdim=True), torch.ones(100, 1)
    draws = G_NOISE[sampling](cells.shape)
    drawn = in_whole_spots(cells, energy, spot, sampling=sampling, draws=draws)
    torch.testing.assert_close(drawn.sum(dim=1, keepdim=True), energy)  # the spots stretch to keep it
    assert not torch.all(drawn[:, 1] == drawn[0, 1])  # drawn, not rounded
    drawn.sum().backward()
    torch.testing.assert_close(cells.grad, torch.ones_like(cells))
    with torch.no_grad():  # sampling skips the straight-through plumbing, not the draws
        again = in_whole_spots(cells, energy, spot, sampling=sampling, draws=draws)
    torch.testing.assert_close(again, drawn.detach())  # the same draws (straight through rounds apart by ulps)


@pytest.mark.parametrize("sampling", ["nearest", "dither", "random"])
def test_a_layer_below_one_spot_is_never_emptied(sampling):
    G = _tiny(round_to_spots=True, spot_sampling=sampling)
    G.spot_coefficients[..., 0] = float(np.log(1e6))  # a 1 TeV spot: every hottest cell holds less
    for image in G(torch.randn(8, 8), torch.full((8,), 10.0)):
        flat = image.detach().flatten(1)
        hottest = flat.amax(dim=1, keepdim=True)
        assert torch.all(hottest > 0)  # the spot shrinks to the hottest cell, which keeps one
        if sampling != "random":  # at most one spot a cell, so every hit cell holds the same (Poisson: up to 3)
            torch.testing.assert_close(torch.where(flat > 0, flat, hottest), hottest.expand_as(flat))


def test_fit_spot_energy_recovers_the_spot_of_quantised_showers():
    rng = np.random.default_rng(0)
    energy = rng.uniform(1.0, 100.0, 400)
    spot = 2.0 * (energy / 10.0) ** 0.1  # MeV: log spot = log 2 + 0.1 log(E / 10 GeV)
    counts = rng.poisson(0.5, (400, 504)).astype(np.float64)
    counts[:, [0, 288]] = 1  # layers 0 and 1: the smallest hit cell holds one spot
    counts[10:, 432:] = 0  # layer 2: only 10 showers hit, too few to fit
    G = _tiny(round_to_spots=True)
    G.fit_spot_energy(torch.from_numpy(counts * spot[:, None]), torch.from_numpy(energy), torch.zeros(400))
    for k in (0, 1):
        np.testing.assert_allclose(G.spot_coefficients[0, k], [np.log(2.0), 0.1, 0, 0, 0, 0], atol=1e-5)
    np.testing.assert_allclose(G.spot_coefficients[0, 2], [np.log(1e-6), 0, 0, 0, 0, 0], atol=1e-6)


def test_spots_fitted_to_showers_in_equal_spots_match_their_smallest_cells(monkeypatch):
    monkeypatch.setattr(simulator, "HIT_SHAPE", None)  # equal-energy spots, as GFlash and simulator 1.0 deal them
    showers = simulate("eplus", 300, seed=1, profile=False)
    cells = flatten_layers([torch.from_numpy(showers[f"layer_{k}"]).double() for k in range(3)])
    energy = torch.from_numpy(showers["energy"][:, 0]).double()
    G = _tiny(round_to_spots=True)
    G.fit_spot_energy(cells, energy, torch.zeros(300))
    layer_0 = cells[:, :288]
    fitted = G.spot_mev(0, energy, layer_0.sum(1, keepdim=True) / (energy[:, None] * 1e3))[:, 0].double()
    smallest = torch.where(layer_0 > 0, layer_0, torch.inf).amin(1)
    assert torch.median((fitted / smallest - 1).abs()) < 0.05  # the simulator's spot: 2.1-3.1 MeV in layer 0
    assert 1.5 < smallest.median() < 4.0


def test_the_leakage_feature_is_the_log_share_of_energy_the_cells_miss():
    cells = torch.zeros(3, 504)
    cells[0, 0], cells[1, 300], cells[1, 500] = 9950.0, 4000.0, 5000.0  # MeV of a 10 GeV shower: 0.995 and 0.9
    cells[2, 10] = 10_000.0  # all of it: the floor, not log(0)
    feature = leakage_feature(cells, torch.full((3,), 10.0))
    torch.testing.assert_close(feature[:, 0], torch.log(torch.tensor([0.005, 0.1, 1e-4])), rtol=1e-4, atol=0)


def test_split_cells_inverts_flatten_layers():
    layers = [torch.rand(4, *shape) for shape in LAYER_SHAPES]
    cells = flatten_layers(layers)
    assert cells.shape == (4, 504)
    assert all(torch.equal(a, b) for a, b in zip(split_cells(cells), layers))


def test_energy_consistency_golden_values():
    layers = split_cells(torch.zeros(2, 504))
    layers[1][0, 5, 5], layers[1][1, 6, 6] = 900.0, 200.0  # responses 0.9 at 1 GeV and 0.1 at 2 GeV
    energy = torch.tensor([1.0, 2.0])
    assert energy_consistency(layers, energy).item() == pytest.approx((0.1 + 0.9) / 2)
    assert energy_consistency(layers, energy, 0.5).item() == pytest.approx(0.0)  # batch mean (0.9 + 0.1) / 2
    # per particle: particle 0 has 0.9 against 0.8, particle 1 has 0.1 against 0.4 -> (0.1 + 0.3) / 2
    per_particle = energy_consistency(layers, energy, torch.tensor([0.8, 0.4]), particle_index=torch.tensor([0, 1]))
    assert per_particle.item() == pytest.approx(0.2)


def test_energy_training_moves_the_response_to_the_target_of_a_simulated_file():
    showers = simulate("piplus", 256, seed=0, profile=False)
    energy = torch.as_tensor(showers["energy"][:, 0], dtype=torch.float32)
    cells = sum(showers[f"layer_{k}"].sum(axis=(1, 2)) for k in range(3))
    target = float(np.mean(cells / (showers["energy"][:, 0] * 1e3)))  # ~0.29: pions leak most of their energy
    G = _tiny()
    optimizer = torch.optim.Adam(G.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        loss = energy_consistency(G(G.sample_latent(256, generator=generator), energy), energy, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        response = _total_mev(G(G.sample_latent(256, generator=generator), energy)) / (energy * 1e3)
    assert abs(response.mean().item() - target) < 0.03
    assert abs(0.5 - target) > 0.15  # an untrained G gives r ~ sigmoid(0) = 0.5: the test means something


def test_a_wgan_gp_step_reaches_every_parameter():
    """DDP needs every parameter in the graph; the gradient penalty takes D through functools.partial."""
    G, D = _tiny(n_particles=2, energy_bumps=4), CaloDiscriminator(n_particles=2, width=16, linear_views=(0, 1, 2),
                                                                   leakage=True, energy_bumps=4)
    showers = simulate("eplus", 32, seed=1, profile=False)
    real = torch.as_tensor(np.concatenate([showers[f"layer_{k}"].reshape(32, -1) for k in range(3)], axis=1),
                           dtype=torch.float32)
    energy = torch.as_tensor(showers["energy"][:, 0], dtype=torch.float32)
    particle, generator = torch.arange(32) % 2, torch.Generator().manual_seed(0)
    fake = flatten_layers(G(G.sample_latent(32, generator=generator), energy, particle))
    d_loss = discriminator_loss("wgan-gp", D(real, energy, particle), D(fake.detach(), energy, particle))
    d_loss = d_loss + 10 * gradient_penalty(functools.partial(D, particle_index=particle), real, fake,
                                            labels=energy, generator=generator, blocks=N_CELLS)
    d_loss.backward()
    g_loss = generator_loss("wgan-gp", D(fake, energy, particle)) + energy_consistency(split_cells(fake), energy)
    g_loss.backward()
    for model in (G, D):
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("views", [{}, {"linear_views": (0, 1, 2), "leakage": True}])
def test_discriminator_treats_samples_independently_and_takes_layers_or_cells(views):
    D = CaloDiscriminator(width=16, **views).eval()
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
    layers = [torch.rand(6, *shape) * 100 for shape in LAYER_SHAPES]
    energy = torch.linspace(5.0, 50.0, 6)
    logits = D(layers, energy)
    assert logits.shape == (6,)
    torch.testing.assert_close(D(flatten_layers(layers), energy), logits)
    torch.testing.assert_close(D([image[:2] for image in layers], energy[:2]), logits[:2])


def test_linear_view_scales_by_the_hottest_cell_and_keeps_empty_layers_tame():
    cells = torch.tensor([[0.0, 90.0, 45.0], [0.0, 0.0, 0.0]], requires_grad=True)  # MeV; the second layer is empty
    view = linear_view(cells)
    torch.testing.assert_close(view.detach(), torch.tensor([[0.0, 0.9, 0.45], [0.0, 0.0, 0.0]]))
    view.sum().backward()
    assert cells.grad[1].max().item() == pytest.approx(0.1)  # 1 / 10 MeV, not 1 / 0
    with pytest.raises(ConfigError, match="linear_views"):
        CaloDiscriminator(linear_views=(3,))


def test_the_energy_condition_adds_bumps_that_peak_at_their_centres():
    condition = encode_condition(torch.tensor([1.0, 10.0, 100.0]), None, 1, energy_bumps=8)
    assert condition.shape == (3, 1 + 8 + 1)
    torch.testing.assert_close(condition[:, 0], torch.log(torch.tensor([0.1, 1.0, 10.0])))
    bumps = condition[:, 1:9]
    assert bumps[0, 0] == pytest.approx(1.0) and bumps[2, 7] == pytest.approx(1.0)  # 1 and 100 GeV: the end centres
    # 10 GeV lies half a spacing from the two middle centres: exp(-0.5^2) each, exp(-1.5^2) for the next
    torch.testing.assert_close(bumps[1, 2:6], torch.exp(-torch.tensor([1.5, 0.5, 0.5, 1.5]) ** 2))
    torch.testing.assert_close(encode_condition(torch.tensor([5.0]), None, 1), torch.tensor([[math.log(0.5), 1.0]]))
    with pytest.raises(ConfigError, match="energy_bumps"):
        CaloGenerator(energy_bumps=1)


def test_particle_conditioning_is_required_and_changes_the_showers():
    G = _tiny(n_particles=2).eval()
    z, energy = torch.randn(4, 8), torch.full((4,), 20.0)
    with pytest.raises(ValueError, match="particle_index"):
        G(z, energy)
    with torch.no_grad():
        first, second = G(z, energy, torch.zeros(4, dtype=torch.long)), G(z, energy, torch.ones(4, dtype=torch.long))
    assert not torch.equal(flatten_layers(first), flatten_layers(second))


def test_generate_is_seeded_batch_size_free_and_writes_a_valid_file(tmp_path):
    G = _tiny()
    energy = np.linspace(1.0, 100.0, 50)
    showers = generate(G, energy, seed=3, batch_size=7)
    assert G.training  # the mode is restored
    for key, value in generate(G, energy, seed=3, batch_size=64).items():
        np.testing.assert_allclose(value, showers[key], rtol=1e-4, atol=1e-3)  # batched matmuls round apart
    assert not np.array_equal(generate(G, energy, seed=4)["layer_1"], showers["layer_1"])
    assert showers["layer_0"].dtype == np.float32 and showers["layer_2"].shape == (50, 12, 6)
    np.testing.assert_array_equal(showers["energy"][:, 0], energy)
    assert not showers["overflow"].any()
    written = read_calogan(write_calogan(tmp_path / "generated.h5", showers))  # layout, values and units pass
    np.testing.assert_allclose(written["layer_1"], showers["layer_1"])


def test_generate_draws_random_spots_from_its_seed():
    G = _tiny(round_to_spots=True, spot_sampling="random")
    G.spot_coefficients[..., 0] = float(np.log(2.5))
    energy = np.linspace(1.0, 100.0, 50)
    showers = generate(G, energy, seed=3, batch_size=16)
    torch.manual_seed(0)  # the global RNG plays no part
    for key, value in generate(G, energy, seed=3, batch_size=16).items():
        np.testing.assert_array_equal(value, showers[key])
    G.eval()
    with torch.no_grad():  # the same latents, other spot counts: the draws are the noise, not z
        z = G.sample_latent(50, generator=torch.Generator().manual_seed(3))
        other = G(z, torch.as_tensor(energy, dtype=torch.float32), noise=torch.Generator().manual_seed(9))
    assert not np.array_equal(other[0].numpy(), showers["layer_0"])  # layer 0's energy is z's alone
    np.testing.assert_allclose(other[0].sum(axis=(1, 2)), showers["layer_0"].sum(axis=(1, 2)), rtol=1e-5)


def test_forward_draws_its_noise_up_front_from_the_generator_it_is_given():
    G = _tiny(round_to_spots=True, spot_sampling="dither", layer_energies="mixture", outer_shares=(0, 1)).eval()
    G.spot_coefficients[..., 0] = float(np.log(2.5))
    z, energy = torch.randn(6, 8), torch.linspace(1.0, 100.0, 6)
    noise = G.draw_noise(6, generator=torch.Generator().manual_seed(1))
    assert noise.mixture.shape == (6, 2, 5) and noise.spots.shape == (6, sum(N_CELLS))
    with torch.no_grad():
        given = G(z, energy, noise=noise)
        drawn = G(z, energy, noise=torch.Generator().manual_seed(1))
    for a, b in zip(given, drawn):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert G.draw_noise(6, units_given=True).mixture is None  # training gives the units: nothing to draw
    assert _tiny().draw_noise(6) == (None, None)  # no mixture, no random spots


def test_a_compiled_generator_draws_the_eager_showers():
    """torch.compile of the whole call (its own kernels, the weights frozen in): the same random numbers go
    in, so the same showers come out up to float rounding, the last batch padded. Spots of 1 GeV leave many
    outer-row parts with energy but no spot drawn: the compiled path gives every shower its part's hottest
    cell, 0 or 1 spot; the eager one picks out those that miss one."""
    G = _tiny(round_to_spots=True, spot_sampling="dither", layer_energies="mixture", outer_shares=(0, 1))
    G.spot_coefficients[..., 0] = float(np.log(1e3))
    energy = np.linspace(1.0, 100.0, 40)
    eager = generate(G, energy, seed=5, batch_size=16)
    once = CompiledGenerator(G)
    generate(once, energy[:16], seed=5, batch_size=16)  # compiles for batches of 16
    with torch.compiler.set_stance("fail_on_recompile"):  # a padded batch must not compile again (20 s cold)
        compiled = generate(once, energy, seed=5, batch_size=16)  # 16 + 16 + 8 padded to 16
    assert G.training  # the mode is restored
    for k in range(3):
        cells, again = eager[f"layer_{k}"], compiled[f"layer_{k}"]
        assert again.shape == cells.shape and again.min() >= 0 and (again == 0).any()
        np.testing.assert_allclose(again.sum(axis=(1, 2)), cells.sum(axis=(1, 2)), rtol=1e-4)
        assert np.mean(~np.isclose(again, cells, rtol=1e-3, atol=1e-3)) < 0.01  # a spot moved here and there
    outer = eager["layer_0"][:, [0, 2]].sum(axis=(1, 2))
    assert np.all((outer == 0) | (outer >= 1e3 * (1 - 1e-4) / 2))  # parts of whole spots, in both
    np.testing.assert_array_equal(generate(CompiledGenerator(G), energy, seed=5, batch_size=16)["layer_1"],
                                  compiled["layer_1"])  # seeded


def test_a_generator_that_cannot_be_compiled_is_a_one_line_error(monkeypatch):
    def compile_fails(*args, **kwargs):
        cause = RuntimeError("No working C++ compiler found\nmore detail")
        raise torch._dynamo.exc.BackendCompilerFailed(lambda: None, cause, None)

    monkeypatch.setattr(torch, "compile", lambda *args, **kwargs: compile_fails)
    G = _tiny()
    with pytest.raises(ConfigError, match=r"^torch.compile could not compile the generator \(RuntimeError: No working "
                                          r"C\+\+ compiler found\); run without compiling$"):
        generate(CompiledGenerator(G), np.array([10.0]), seed=0)
    assert G.training  # the mode is restored


def test_generate_under_bf16_autocast_stays_close_in_total_energy():
    G = _tiny()
    energy = np.full(64, 30.0)
    total = lambda s: sum(s[f"layer_{k}"].sum(axis=(1, 2)) for k in range(3))  # noqa: E731
    fp32, bf16 = generate(G, energy, seed=0), generate(G, energy, seed=0, autocast_dtype=torch.bfloat16)
    assert bf16["layer_1"].dtype == np.float32
    np.testing.assert_allclose(total(bf16), total(fp32), rtol=0.05)


@pytest.mark.parametrize("energy, particle, match", [
    (np.array([10.0, -1.0]), None, "positive"),
    (np.array([10.0, np.nan]), None, "finite"),
    (np.array([10.0, 20.0]), np.array([0, 2]), "particle_index"),
    (np.array([10.0, 20.0]), None, "pass particle_index"),
])
def test_generate_rejects_bad_requests_in_one_line(energy, particle, match):
    with pytest.raises(ConfigError, match=match):
        generate(_tiny(n_particles=2), energy, particle_index=particle, seed=0)


def test_an_unknown_spot_sampling_is_a_config_error():
    with pytest.raises(ConfigError, match="spot_sampling must be one of random, dither, nearest"):
        _tiny(round_to_spots=True, spot_sampling="binomial")
