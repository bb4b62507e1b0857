"""Metrics: classification, generative models, calorimeter observables."""
