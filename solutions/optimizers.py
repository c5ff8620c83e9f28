"""Task 6 - Optimisation algorithms from scratch (Dive into Deep Learning, 11.5-11.10).

Minibatch SGD, momentum, AdaGrad, RMSProp, AdaDelta and Adam, written the book's way:
an optimiser is a function ``optimizer(params, states, hyperparams)`` that updates
every parameter in place from its ``.grad``, and ``init_X_states(params)`` makes the
state it keeps between calls (one zero tensor, or a pair of them, per parameter).
We train linear regression on NASA's airfoil self-noise data with each of them.

Rules that hold for every optimiser below:
- update parameters *and states* in place (``p -= ...``, ``s[:] = ...``) inside
  ``torch.no_grad()``: rebinding a name (``s = s + ...``) changes nothing outside;
- do not zero the gradients: the training loop does that.

Fill in every part marked ``# YOUR CODE HERE``.
"""

import torch


def sgd(params, states, hyperparams):
    """Minibatch SGD: ``p -= lr * p.grad``. SGD keeps no state (``states`` is ignored)."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        for p in params:
            p -= hyperparams["lr"] * p.grad
    ### END SOLUTION


def init_momentum_states(params):
    """One velocity per parameter: zeros shaped like it."""
    ### BEGIN SOLUTION
    return [torch.zeros_like(p) for p in params]
    ### END SOLUTION


def sgd_momentum(params, states, hyperparams):
    """Momentum: ``v = momentum * v + lr * g; p -= v`` (hyperparams ``lr``, ``momentum``)."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        for p, v in zip(params, states):
            v[:] = hyperparams["momentum"] * v + hyperparams["lr"] * p.grad
            p -= v
    ### END SOLUTION


def init_adagrad_states(params):
    """One accumulator of squared gradients per parameter: zeros shaped like it."""
    ### BEGIN SOLUTION
    return [torch.zeros_like(p) for p in params]
    ### END SOLUTION


def adagrad(params, states, hyperparams):
    """AdaGrad: ``s += g**2; p -= lr * g / sqrt(s + 1e-6)`` (eps inside the root)."""
    ### BEGIN SOLUTION
    eps = 1e-6
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] += p.grad**2
            p -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
    ### END SOLUTION


def init_rmsprop_states(params):
    """One leaky average of squared gradients per parameter: zeros shaped like it."""
    ### BEGIN SOLUTION
    return [torch.zeros_like(p) for p in params]
    ### END SOLUTION


def rmsprop(params, states, hyperparams):
    """RMSProp: ``s = beta * s + (1 - beta) * g**2; p -= lr * g / sqrt(s + 1e-6)``."""
    ### BEGIN SOLUTION
    beta, eps = hyperparams["beta"], 1e-6
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] = beta * s + (1 - beta) * p.grad**2
            p -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
    ### END SOLUTION


def init_adadelta_states(params):
    """A pair ``(s, delta)`` of zeros shaped like each parameter."""
    ### BEGIN SOLUTION
    return [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    ### END SOLUTION


def adadelta(params, states, hyperparams):
    """AdaDelta (hyperparameter ``rho``, eps = 1e-5), for each parameter:

    ``s = rho * s + (1 - rho) * g**2``; the rescaled gradient
    ``g' = g * sqrt((delta + eps) / (s + eps))`` (new ``s``, old ``delta``);
    ``p -= g'``; then ``delta = rho * delta + (1 - rho) * g'**2``.
    """
    ### BEGIN SOLUTION
    rho, eps = hyperparams["rho"], 1e-5
    with torch.no_grad():
        for p, (s, delta) in zip(params, states):
            s[:] = rho * s + (1 - rho) * p.grad**2
            g = p.grad * torch.sqrt((delta + eps) / (s + eps))
            p -= g
            delta[:] = rho * delta + (1 - rho) * g**2
    ### END SOLUTION


def init_adam_states(params):
    """A pair ``(v, s)`` of zeros shaped like each parameter."""
    ### BEGIN SOLUTION
    return [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    ### END SOLUTION


def adam(params, states, hyperparams):
    """Adam (hyperparams ``lr`` and the step count ``t``, starting at 1).

    With ``beta1 = 0.9, beta2 = 0.999, eps = 1e-6``, for each parameter:
    ``v = beta1 * v + (1 - beta1) * g``, ``s = beta2 * s + (1 - beta2) * g**2``, the
    bias-corrected ``v_hat = v / (1 - beta1**t)``, ``s_hat = s / (1 - beta2**t)``, and
    ``p -= lr * v_hat / (sqrt(s_hat) + eps)``. Then ``hyperparams['t'] += 1``, once per
    call (not once per parameter).
    """
    ### BEGIN SOLUTION
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    with torch.no_grad():
        for p, (v, s) in zip(params, states):
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * p.grad**2
            v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
            s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
            p -= hyperparams["lr"] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
    hyperparams["t"] += 1
    ### END SOLUTION
