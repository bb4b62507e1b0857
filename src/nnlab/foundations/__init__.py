"""From-scratch NumPy foundations of the lecture "Introduction to Deep Learning with PyTorch".

Logistic function and regression, gradient descent, logic gates and XOR, a hand-written
feed-forward network with backpropagation, softmax, 2-D convolution, the Fisher projection
and universal approximation. Import the submodules directly; nothing is loaded here.
"""
