"""nnlab: hands-on deep learning for scientists, from the logistic function to CaloGAN."""

__version__ = "0.1.0"
