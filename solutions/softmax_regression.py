"""Task 1.2 - Softmax regression from scratch (Dive into Deep Learning, section 3.6).

We classify Fashion-MNIST images (28x28 pixels, 10 classes) with a single linear layer
followed by a softmax: ``y_hat = softmax(X W + b)``. Each image is flattened to a row of
784 pixel values, ``W`` has shape ``(784, 10)`` and ``b`` shape ``(10,)``. The model is
trained by minimising the cross-entropy loss with minibatch SGD, and judged by its
accuracy on the test set.

Fill in every part marked ``# YOUR CODE HERE``. Use only tensor operations: the point is
to see every piece that ``torch.nn.functional.cross_entropy`` normally hides.
"""

import torch


def softmax(X):
    """Row-wise softmax of a ``(batch, classes)`` tensor.

    Each row is exponentiated and divided by its sum, so that every row is a probability
    distribution: non-negative entries summing to 1. Mathematically ``softmax(X)`` equals
    ``softmax(X - c)`` for any constant ``c`` per row; use this to keep ``exp`` from
    overflowing, so that logits as large as 1e4 in magnitude give no ``inf`` or ``NaN``.
    """
    ### BEGIN SOLUTION
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    partition = X_exp.sum(dim=1, keepdim=True)
    return X_exp / partition  # broadcasting divides each row by its own sum
    ### END SOLUTION


def cross_entropy(y_hat, y):
    """Cross-entropy loss per example, no reduction.

    ``y_hat`` holds predicted probabilities, shape ``(batch, classes)``; ``y`` holds the
    true labels as int64, shape ``(batch,)``. Return ``-log y_hat[i, y[i]]`` for every
    example ``i``: a tensor of shape ``(batch,)``.
    """
    ### BEGIN SOLUTION
    return -torch.log(y_hat[range(len(y_hat)), y])
    ### END SOLUTION


def accuracy(y_hat, y):
    """The fraction of rows of ``y_hat`` whose largest entry is at the true label.

    Return a Python ``float`` in [0, 1].
    """
    ### BEGIN SOLUTION
    y_hat = y_hat.argmax(dim=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum()) / len(y)
    ### END SOLUTION


def net(X, W, b):
    """The softmax regression model: ``softmax(X.reshape(-1, W.shape[0]) @ W + b)``.

    ``X`` may be a batch of images of shape ``(batch, 1, 28, 28)``: flatten each example
    to a row of ``W.shape[0]`` numbers first. Use your ``softmax`` above.
    """
    ### BEGIN SOLUTION
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)
    ### END SOLUTION


def evaluate_accuracy(net, data_iter):
    """The accuracy of ``net`` over every example that ``data_iter`` yields.

    ``data_iter`` yields ``(X, y)`` minibatches; the last one may be smaller than the
    others. Return a Python ``float``: correct predictions over all examples.
    """
    ### BEGIN SOLUTION
    if isinstance(net, torch.nn.Module):
        net.eval()  # evaluation mode (matters for dropout and batch norm later)
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += accuracy(net(X), y) * y.numel()  # a fraction times the batch size
            total += y.numel()
    return correct / total
    ### END SOLUTION
