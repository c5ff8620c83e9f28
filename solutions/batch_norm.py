"""Task 6.1 - Batch normalisation from scratch (Dive into Deep Learning, section 7.5).

Batch normalisation standardises each channel of a layer's input with the mean and
variance of the current minibatch, then rescales it with a learned scale ``gamma`` and
shift ``beta``. During training it also keeps running ("moving") averages of the mean
and variance; in prediction mode those moving statistics are used instead of the
batch's, so that a prediction does not depend on the other examples in the batch.

You will write the computation itself (``batch_norm``), wrap it in a layer that owns its
parameters and statistics (``BatchNorm``), and put that layer into LeNet (``lenet_bn``),
which then trains much faster than the plain LeNet of section 6.6.

Fill in every part marked ``# YOUR CODE HERE``. ``batch_norm`` and ``BatchNorm`` must be
written from scratch: do not call ``torch.nn.functional.batch_norm`` or
``nn.BatchNorm2d``.
"""

import torch
from torch import nn


def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    """Batch normalisation of a minibatch ``X``; returns ``(Y, moving_mean, moving_var)``.

    ``X`` is ``(N, C)`` (after a fully connected layer) or ``(N, C, H, W)`` (after a
    convolution); the channel axis is 1. Any other number of dimensions is a
    ``ValueError``.

    * Training (``is_training`` true): compute each channel's mean and *biased* variance
      (divide by the number of values, not by one less) over every axis except axis 1,
      normalise ``X_hat = (X - mean) / sqrt(var + eps)``, and update the moving
      statistics as ``momentum * moving + (1 - momentum) * batch_statistic``.
    * Prediction: normalise with ``moving_mean`` and ``moving_var`` and return them
      unchanged.

    In both cases ``Y = gamma * X_hat + beta``. The moving statistics you return are
    plain numbers to remember, not part of the computation graph: they must carry no
    autograd history. Do not change any argument in place.
    """
    ### BEGIN SOLUTION
    if X.dim() not in (2, 4):
        raise ValueError(f"batch_norm expects a 2-D or 4-D input, got {X.dim()}-D")
    if not is_training:
        # Prediction mode: use the statistics gathered during training.
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        if X.dim() == 2:
            # Fully connected layer: statistics per feature, over the batch.
            mean = X.mean(dim=0, keepdim=True)
            var = ((X - mean) ** 2).mean(dim=0, keepdim=True)
        else:
            # Convolution: statistics per channel, over the batch and every position.
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        # The moving averages are bookkeeping, not part of the model's computation.
        with torch.no_grad():
            moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
            moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta  # scale and shift
    return Y, moving_mean.detach(), moving_var.detach()
    ### END SOLUTION


class BatchNorm(nn.Module):
    """A batch normalisation layer for ``num_features`` channels.

    ``num_dims`` is 2 for the output of a fully connected layer and 4 for the output of
    a convolution; the statistics and parameters then have shape ``(1, C)`` or
    ``(1, C, 1, 1)``.

    * ``gamma`` (ones) and ``beta`` (zeros) are parameters: the optimiser learns them.
    * ``moving_mean`` (zeros) and ``moving_var`` (ones) are *buffers*
      (``self.register_buffer``): not learned, but saved by ``state_dict()`` and moved by
      ``.to(device)`` together with the parameters.

    ``forward`` calls ``batch_norm`` in training mode when the layer is in training mode
    (``self.training``, as the course notes do), with ``eps=1e-5`` and ``momentum=0.9``,
    and stores the moving statistics it returns. (The book's second edition tests
    ``torch.is_grad_enabled()`` instead; the autograder only grades the cases where the
    two agree: training mode with gradients on, evaluation mode under ``torch.no_grad()``.)
    """

    def __init__(self, num_features, num_dims):
        super().__init__()
        ### BEGIN SOLUTION
        if num_dims == 2:
            shape = (1, num_features)
        else:
            shape = (1, num_features, 1, 1)
        # The scale and shift are learned, so they are parameters.
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        # The moving statistics are state, not parameters: buffers.
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))
        ### END SOLUTION

    def forward(self, X):
        ### BEGIN SOLUTION
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5, momentum=0.9
        )
        return Y
        ### END SOLUTION


def lenet_bn():
    """LeNet (section 6.6) as the course notes write it, with a ``BatchNorm`` after every
    convolution and every hidden fully connected layer, for ``(N, 1, 28, 28)`` images and
    10 classes:

    ``Conv2d(1, 6, 5)``, BatchNorm, Sigmoid, ``MaxPool2d(2, 2)``,
    ``Conv2d(6, 16, 5)``, BatchNorm, Sigmoid, ``MaxPool2d(2, 2)``, Flatten,
    ``Linear(256, 120)``, BatchNorm, Sigmoid, ``Linear(120, 84)``, BatchNorm, Sigmoid,
    ``Linear(84, 10)``, all in one ``nn.Sequential``. Use your ``BatchNorm`` class.

    The book's second edition pools by averaging instead (``AvgPool2d(2, 2)``); that is
    equally right, as long as both pooling layers are of the same kind.
    """
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5),
        BatchNorm(6, num_dims=4),
        nn.Sigmoid(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5),
        BatchNorm(16, num_dims=4),
        nn.Sigmoid(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120),
        BatchNorm(120, num_dims=2),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        BatchNorm(84, num_dims=2),
        nn.Sigmoid(),
        nn.Linear(84, 10),
    )
    ### END SOLUTION
