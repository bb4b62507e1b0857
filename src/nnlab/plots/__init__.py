"""Plots (matplotlib, Agg backend, imported lazily): curves, image grids, physics histograms."""
