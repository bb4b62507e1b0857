"""Data sets and input files: Iris, IDX images (MNIST family), calorimeter HDF5."""
