"""Task 1.3 - Multilayer perceptron from scratch (Dive into Deep Learning, sections 4.1-4.2).

A multilayer perceptron puts a hidden layer with a nonlinear activation function between
the input and the output layer. We write three activation functions (ReLU, sigmoid and
tanh), then build a one-hidden-layer MLP for Fashion-MNIST: 784 inputs, 256 hidden units
with ReLU, 10 outputs. Its outputs are logits (no softmax): the training loop feeds them
to ``nn.CrossEntropyLoss``, which applies the softmax itself, stably.

Fill in every part marked ``# YOUR CODE HERE``. The activation functions must be written
from scratch, with elementary tensor operations (no ``torch.relu``, ``torch.sigmoid``,
``torch.tanh`` or their ``nn`` counterparts).
"""

import torch


def relu(X):
    """The rectified linear unit, elementwise: ``max(X, 0)``.

    Return a new tensor with the dtype and device of ``X``; do not change ``X``.
    """
    ### BEGIN SOLUTION
    a = torch.zeros_like(X)
    return torch.max(X, a)
    ### END SOLUTION


def sigmoid(X):
    """The sigmoid function, elementwise: ``1 / (1 + exp(-X))``.

    The result must be finite for inputs as large as 1e4 in magnitude: never let
    ``exp`` produce ``inf`` where it would end up in ``inf / inf``.
    """
    ### BEGIN SOLUTION
    # exp only ever sees -|X| <= 0, so it never overflows.
    Z = torch.where(X >= 0, X, -X)
    e = torch.exp(-Z)
    return torch.where(X >= 0, 1 / (1 + e), e / (1 + e))
    ### END SOLUTION


def tanh(X):
    """The hyperbolic tangent, elementwise: ``(1 - exp(-2X)) / (1 + exp(-2X))``.

    Finite for inputs as large as 1e4 in magnitude, like ``sigmoid``: tanh is odd,
    ``tanh(-x) = -tanh(x)``, so the formula is only needed for ``x >= 0``.
    """
    ### BEGIN SOLUTION
    Z = torch.where(X >= 0, X, -X)  # |X|, with gradient 1 (not 0) at X = 0
    e = torch.exp(-2 * Z)
    T = (1 - e) / (1 + e)
    return torch.where(X >= 0, T, -T)
    ### END SOLUTION


def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    """The parameters ``[W1, b1, W2, b2]`` of a one-hidden-layer MLP.

    Weights ``W1`` of shape ``(num_inputs, num_hiddens)`` and ``W2`` of shape
    ``(num_hiddens, num_outputs)`` are drawn from N(0, 0.01^2) with ``generator``; biases
    ``b1`` of shape ``(num_hiddens,)`` and ``b2`` of shape ``(num_outputs,)`` are zeros.
    All four are leaf tensors with ``requires_grad=True``.
    """
    ### BEGIN SOLUTION
    W1 = torch.normal(0, 0.01, size=(num_inputs, num_hiddens), generator=generator, requires_grad=True)
    b1 = torch.zeros(num_hiddens, requires_grad=True)
    W2 = torch.normal(0, 0.01, size=(num_hiddens, num_outputs), generator=generator, requires_grad=True)
    b2 = torch.zeros(num_outputs, requires_grad=True)
    return [W1, b1, W2, b2]
    ### END SOLUTION


def net(X, params):
    """The MLP: ``relu(X.reshape(-1, num_inputs) @ W1 + b1) @ W2 + b2``.

    ``params`` is ``[W1, b1, W2, b2]`` as made by ``init_params``; ``num_inputs`` is
    ``W1.shape[0]``. Use your ``relu`` above. Return the logits, without a softmax.
    """
    ### BEGIN SOLUTION
    W1, b1, W2, b2 = params
    X = X.reshape((-1, W1.shape[0]))
    H = relu(X @ W1 + b1)  # "@" is matrix multiplication
    return H @ W2 + b2
    ### END SOLUTION
