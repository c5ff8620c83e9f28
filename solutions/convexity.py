"""Task 6 - Convexity (Dive into Deep Learning, section 11.2).

Convexity is what makes an optimisation problem easy: every local minimum of a convex
function is a global one. Here we test the definition numerically (Jensen's
inequality), compute second derivatives and Hessians with automatic differentiation
(a twice-differentiable function is convex exactly where its Hessian is positive
semidefinite), decide when a quadratic form is convex, and project onto a convex set -
the step that keeps constrained gradient descent feasible (section 11.2.3).

Fill in every part marked ``# YOUR CODE HERE``. The functions ``f`` you are given take
and return tensors (``f(xs)`` works elementwise on a 1-D tensor).
"""

import torch


def jensen_gap(f, xs, weights):
    """Jensen's gap ``sum_i w_i f(x_i) - f(sum_i w_i x_i)``, as a Python float.

    ``xs`` is a 1-D tensor of points and ``weights`` a 1-D tensor of non-negative
    weights summing to 1. For a convex ``f`` the gap is never negative.
    """
    ### BEGIN SOLUTION
    return float((weights * f(xs)).sum() - f((weights * xs).sum()))
    ### END SOLUTION


def second_derivative(f, x):
    """``f''(x)`` of a scalar function at the float ``x``, by automatic differentiation.

    Make ``x`` a tensor that requires grad, differentiate once with
    ``create_graph=True`` (so the derivative is itself differentiable), then
    differentiate again. Return a Python float.
    """
    ### BEGIN SOLUTION
    x = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    y = f(x)
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy, x)
    return d2y.item()
    ### END SOLUTION


def hessian(f, x):
    """The ``(d, d)`` Hessian of a scalar function ``f`` at the 1-D tensor ``x``.

    Use automatic differentiation: the gradient with ``create_graph=True``, then the
    gradient of each of its components. The result has ``x``'s dtype and carries no
    autograd history; do not change ``x`` itself.
    """
    ### BEGIN SOLUTION
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x, create_graph=True)
    rows = [torch.autograd.grad(grad[i], x, retain_graph=True)[0] for i in range(len(x))]
    return torch.stack(rows).detach()
    ### END SOLUTION


def is_convex_quadratic(A):
    """Whether ``x -> x^T A x`` is convex, for a square matrix ``A``.

    ``x^T A x`` only sees the symmetric part ``(A + A^T) / 2``; the form is convex when
    that matrix is positive semidefinite. Numerically: when its smallest eigenvalue is
    not below ``-1e-6``. Return a Python bool.
    """
    ### BEGIN SOLUTION
    symmetric = (A + A.T) / 2
    return bool(torch.linalg.eigvalsh(symmetric).min() >= -1e-6)
    ### END SOLUTION


def project_onto_ball(x, center, radius):
    """The point of the closed ball ``||y - center|| <= radius`` closest to ``x``.

    A point inside the ball is its own projection; a point outside moves along the
    line to the centre until it reaches the sphere. Return a new tensor.
    """
    ### BEGIN SOLUTION
    offset = x - center
    distance = torch.linalg.norm(offset)
    if distance <= radius:
        return x.clone()
    return center + offset * (radius / distance)
    ### END SOLUTION
