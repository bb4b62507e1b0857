"""CaloGAN: a conditional GAN for the three-layer calorimeter showers (docs/calogan.md).

After Paganini, de Oliveira and Nachman (arXiv:1705.02355, 1712.10321), scaled down: the
layers are generated in sequence, each from the latent, the requested energy (and particle)
and an encoding of the layers before it; every layer is an energy-scaled, normalised shape
ending in a ReLU, so empty cells are exact zeros. The layer energies are split by G's
streams or drawn from a mixture fitted by maximum likelihood (nnlab.models.calo_energy).
The discriminator sees log cells (and, for chosen layers, a linear view of them), layer
energies and the requested energy, with no BatchNorm (it must work under DDP and WGAN-GP).

Each module holds one concern and is imported directly (this package re-exports nothing): `layout` (the flat
cells), `conditioning` (energy and particle), `blocks` (the MLP both nets stack), `spots` (whole-spot cells),
`generator`, `critic`, `consistency` (the energy loss) and `inference` (`generate`).
"""
