"""Task 6 - Gradient descent (Dive into Deep Learning, sections 11.3 and 11.4).

We watch gradient descent and Newton's method at work on functions of one variable
(``f(x) = x**2``, ``cosh(0.5 * x)`` and the nonconvex ``x * cos(0.15 * pi * x)``), then
on the two-dimensional ``f(x1, x2) = x1**2 + 2 * x2**2``, with and without gradient
noise, and with learning rates that decay over time.

Fill in every part marked ``# YOUR CODE HERE``. The functions here work on plain
Python floats: ``grad_f(x)`` and ``hess_f(x)`` take a number and return a number.
"""

import math


def gd(eta, grad_f, x0=10.0, steps=10):
    """One-dimensional gradient descent ``x <- x - eta * grad_f(x)``.

    Return the list of ``steps + 1`` iterates: ``x0`` first, then the value after each
    step. With ``eta=0.2`` on ``f(x) = x**2`` the list starts 10.0, 6.0, 3.6, ...
    """
    ### BEGIN SOLUTION
    x = x0
    results = [x]
    for _ in range(steps):
        x -= eta * grad_f(x)
        results.append(float(x))
    return results
    ### END SOLUTION


def newton(eta, grad_f, hess_f, x0=10.0, steps=10):
    """Newton's method ``x <- x - eta * grad_f(x) / hess_f(x)``.

    Return the list of ``steps + 1`` iterates, starting with ``x0``. ``eta`` damps the
    step, which helps where the Hessian is negative (nonconvex functions).
    """
    ### BEGIN SOLUTION
    x = x0
    results = [x]
    for _ in range(steps):
        x -= eta * grad_f(x) / hess_f(x)
        results.append(float(x))
    return results
    ### END SOLUTION


def gd_2d(x1, x2, eta):
    """One gradient step on ``f(x1, x2) = x1**2 + 2 * x2**2``; return ``(x1, x2)``."""
    ### BEGIN SOLUTION
    g1, g2 = 2 * x1, 4 * x2
    return (x1 - eta * g1, x2 - eta * g2)
    ### END SOLUTION


def sgd_2d(x1, x2, eta_t, noise):
    """One stochastic gradient step on the same ``f``.

    The gradient is perturbed by ``noise = (n1, n2)`` (the book draws it from N(0, 1));
    step with the learning rate ``eta_t`` and return ``(x1, x2)``.
    """
    ### BEGIN SOLUTION
    g1, g2 = 2 * x1 + noise[0], 4 * x2 + noise[1]
    return (x1 - eta_t * g1, x2 - eta_t * g2)
    ### END SOLUTION


def train_2d(trainer, steps=20, x0=(-5.0, -2.0)):
    """Apply ``trainer(x1, x2) -> (x1, x2)`` ``steps`` times, starting from ``x0``.

    Return the list of ``steps + 1`` points ``(x1, x2)``, ``x0`` first.
    """
    ### BEGIN SOLUTION
    x1, x2 = x0
    results = [(x1, x2)]
    for _ in range(steps):
        x1, x2 = trainer(x1, x2)
        results.append((x1, x2))
    return results
    ### END SOLUTION


def exponential_lr(t):
    """The exponentially decaying learning rate ``exp(-0.1 * t)`` at step ``t``."""
    ### BEGIN SOLUTION
    return math.exp(-0.1 * t)
    ### END SOLUTION


def polynomial_lr(t):
    """The polynomially decaying learning rate ``(1 + 0.1 * t) ** -0.5`` at step ``t``."""
    ### BEGIN SOLUTION
    return (1 + 0.1 * t) ** (-0.5)
    ### END SOLUTION
