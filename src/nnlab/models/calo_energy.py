"""The layer energies of a shower as an exact-likelihood model: an autoregressive Gaussian mixture.

A shower's three layer energies, given the incident energy, are three numbers: the response
r = E_tot / E, layer 0's share of E_tot and layer 1's share of what is left (the stick the
generator breaks, `CaloGenerator`). Everything physicists check first (layer energies and
fractions, E_tot / E, the shower depth and its width) is a function of them. A GAN learns their
joint law only through the critic; fitted by maximum likelihood, p(u_0 | E) p(u_1 | u_0, E)
p(u_2 | u_0, u_1, E) with a mixture of Gaussians for each factor (a mixture density network,
Bishop 1994) in logit space matches it directly, as CaloFlow's first flow does (Krause and
Shih, arXiv:2106.05285): a classifier told the fitted energies from simulated ones at AUC 0.52
where it told the GAN's at 0.75 (e+, docs/calogan.md). The shapes are then generated for
those energies.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.progress import progress

N_UNITS = 3  # logits of the response, layer 0's share, layer 1's share of the rest
SHARE_FLOOR = 1e-6  # shares are clamped into [1e-6, 1 - 1e-6] before the logit: an empty layer is -13.8
MIN_LOG_SCALE = -7.0  # a component is at least e^-7 standard deviations wide: the likelihood stays finite


def energy_units(layer_energies_mev: torch.Tensor, energy_gev: torch.Tensor) -> torch.Tensor:
    """(B, 3) layer energies in MeV and (B,) incident GeV -> (B, 3) logits of r, layer 0's share, layer 1's share."""
    e = layer_energies_mev.double()
    total = e.sum(dim=1)
    response = total / (energy_gev.reshape(-1).double() * 1e3)
    share_0 = e[:, 0] / total.clamp_min(1e-30)
    share_1 = e[:, 1] / (e[:, 1] + e[:, 2]).clamp_min(1e-30)
    p = torch.stack([response, share_0, share_1], dim=1).clamp(SHARE_FLOOR, 1 - SHARE_FLOOR)
    return torch.logit(p).float()


def layer_energies(units: torch.Tensor, energy_gev: torch.Tensor) -> torch.Tensor:
    """Inverse of `energy_units`: (B, 3) logits and (B,) incident GeV -> (B, 3) layer energies in MeV."""
    p = torch.sigmoid(units.float())
    deposited = energy_gev.reshape(-1).float() * 1e3 * p[:, 0]
    rest = deposited * (1 - p[:, 1])
    return torch.stack([deposited * p[:, 1], rest * p[:, 2], rest * (1 - p[:, 2])], dim=1)


class LayerEnergyMixture(nn.Module):
    """p(u | condition) for the (B, 3) `energy_units`: one small MLP per unit gives a Gaussian mixture over it.

    `n_units` > 3 models further units after them, in order (the generator's outer-row shares).

    The units are standardised by the training showers' mean and spread (buffers, saved with the
    model). Its parameters do not train with the GAN: `fit` sets them by maximum likelihood once,
    before the adversarial training, and leaves them frozen.
    """

    def __init__(self, condition_dim: int, n_components: int = 10, width: int = 64, n_units: int = N_UNITS):
        super().__init__()
        self.n_components, self.n_units = n_components, n_units
        self.nets = nn.ModuleList(
            nn.Sequential(nn.Linear(condition_dim + d, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                          nn.LeakyReLU(0.2), nn.Linear(width, 3 * n_components)) for d in range(n_units))
        self.register_buffer("mean", torch.zeros(n_units))
        self.register_buffer("std", torch.ones(n_units))
        self.requires_grad_(False)

    def standardise(self, units: torch.Tensor) -> torch.Tensor:
        return (units.float() - self.mean) / self.std

    def _mixture(self, d: int, condition: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Weight logits (not normalised), means and log scales (B, K) of unit d given the condition and the units
        before it."""
        logits, mean, log_scale = self.nets[d](torch.cat([condition, x[:, :d]], dim=1)).chunk(3, dim=1)
        return logits, mean, log_scale.clamp_min(MIN_LOG_SCALE)

    def log_prob(self, units: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """(B,) log density of standardised units (in the standardised space)."""
        x = self.standardise(units)
        total = torch.zeros(len(x), device=x.device)
        for d in range(self.n_units):
            logits, mean, log_scale = self._mixture(d, condition, x)
            z = (x[:, d:d + 1] - mean) / log_scale.exp()
            log_normal = -0.5 * z.square() - log_scale - 0.5 * math.log(2 * math.pi)
            total = total + torch.logsumexp(F.log_softmax(logits, dim=1) + log_normal, dim=1)
        return total

    @torch.no_grad()
    def sample(self, condition: torch.Tensor, *, generator: torch.Generator | None = None,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """(B, n_units) units drawn unit by unit, each from its mixture given those before it.

        `noise`: (B, 2, n_units) uniforms that pick the components and normals within them (`draw_noise`),
        else drawn from `generator`. Rows whose mixture weights are not finite (diverged or damaged
        weights) come out NaN, for the caller's finiteness check to report, rather than failing inside the draw.
        """
        with torch.autocast(condition.device.type, enabled=False):
            condition = condition.float()
            x = torch.zeros(len(condition), self.n_units, device=condition.device)
            if noise is None:
                noise = self.draw_noise(len(x), generator=generator, device=x.device)
            picks, noises = noise.float().unbind(1)  # (B, n_units) each
            for d in range(self.n_units):
                logits, mean, log_scale = self._mixture(d, condition, x)
                # the component by the inverse CDF of the weights, normalised by their sum (not softmax):
                # several times cheaper than torch.multinomial here
                cdf = (logits - logits.amax(dim=1, keepdim=True)).exp_().cumsum(dim=1)  # (B, K)
                broken = ~torch.isfinite(cdf[:, -1:])  # (B, 1)
                pick = picks[:, d:d + 1] * cdf[:, -1:]
                k = (cdf < pick).sum(dim=1, keepdim=True).clamp_max(self.n_components - 1)  # (B, 1)
                drawn = torch.addcmul(mean.gather(1, k), log_scale.gather(1, k).exp(), noises[:, d:d + 1])
                x[:, d] = drawn.masked_fill(broken, float("nan"))[:, 0]
            return x * self.std + self.mean

    def draw_noise(self, n: int, *, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
        """(n, 2, n_units): the uniforms and normals `sample` draws n rows from, in two calls (each call costs more
        than the numbers it draws)."""
        return torch.stack([torch.rand(n, self.n_units, generator=generator, device=device),
                            torch.randn(n, self.n_units, generator=generator, device=device)], dim=1)

    def fit(self, units: torch.Tensor, condition: torch.Tensor, *, steps: int, seed: int,
            batch_size: int = 2048, lr: float = 3e-3) -> float:
        """Maximum likelihood by Adam on minibatches drawn from `seed`, the rate decayed linearly to 0.

        Returns the final mean negative log likelihood over all the units (standardised space).
        """
        self.mean.copy_(units.float().mean(dim=0))
        self.std.copy_(units.float().std(dim=0).clamp_min(1e-3))
        draw = torch.Generator().manual_seed(seed)
        self.requires_grad_(True)
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 1 - i / max(steps, 1))
        try:
            with torch.enable_grad():
                for _ in progress(range(steps), "fitting the layer-energy mixture", unit="step"):
                    index = torch.randint(len(units), (min(batch_size, len(units)),), generator=draw)
                    loss = -self.log_prob(units[index], condition[index]).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    schedule.step()
        finally:
            self.requires_grad_(False)
        with torch.no_grad():
            return float(-self.log_prob(units, condition).mean())
