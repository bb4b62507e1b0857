"""The one training loop every task uses, with its run directory, checkpoints and DDP support."""
