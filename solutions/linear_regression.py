"""Task 1.1 - Linear regression from scratch (Dive into Deep Learning, section 3.2).

We generate a dataset from a known linear model, read it in minibatches, and fit the
model with minibatch stochastic gradient descent. With the true parameters
w = [2, -3.4] and b = 4.2, training should recover them closely.

Fill in every part marked ``# YOUR CODE HERE``. Use only tensor operations: the point
is to see every piece that ``torch.nn`` and ``torch.optim`` normally hide.
"""

import torch


def synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    """Generate ``y = Xw + b + noise``.

    Features ``X`` are drawn from N(0, 1) with shape ``(num_examples, len(w))``; labels
    are ``X @ w + b`` plus Gaussian noise with standard deviation ``noise``, shape
    ``(num_examples,)``. Use ``generator`` for every random draw, so that a seed
    reproduces the data.
    """
    ### BEGIN SOLUTION
    X = torch.normal(0, 1, (num_examples, len(w)), generator=generator, dtype=w.dtype)
    y = torch.matmul(X, w) + b
    y += torch.normal(0, noise, y.shape, generator=generator, dtype=w.dtype)
    return X, y
    ### END SOLUTION


def data_iter(batch_size, features, labels, generator=None):
    """Yield ``(X, y)`` minibatches of ``batch_size`` examples in random order.

    Every example appears exactly once per pass; the last batch may be smaller.
    """
    ### BEGIN SOLUTION
    num_examples = len(features)
    indices = torch.randperm(num_examples, generator=generator)
    for i in range(0, num_examples, batch_size):
        batch_indices = indices[i : i + batch_size]
        yield features[batch_indices], labels[batch_indices]
    ### END SOLUTION


def linreg(X, w, b):
    """The linear regression model: ``X @ w + b``.

    ``w`` has shape ``(d, 1)`` and ``b`` shape ``(1,)``, so the result is ``(n, 1)``.
    """
    ### BEGIN SOLUTION
    return torch.matmul(X, w) + b
    ### END SOLUTION


def squared_loss(y_hat, y):
    """Squared loss per example: ``(y_hat - y.reshape(y_hat.shape)) ** 2 / 2``, no reduction."""
    ### BEGIN SOLUTION
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
    ### END SOLUTION


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent, in place.

    For each parameter, ``param -= lr * param.grad / batch_size`` without recording the
    update in autograd. Do not zero the gradients here: the training loop does that.
    """
    ### BEGIN SOLUTION
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
    ### END SOLUTION
