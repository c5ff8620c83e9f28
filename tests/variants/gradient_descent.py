"""Variants of the gradient descent stubs."""

from .harness import Variant

WRONG = [
    Variant(
        "gd",
        "returns only the final x",
        """
def gd(eta, grad_f, x0=10.0, steps=10):
    x = x0
    for _ in range(steps):
        x -= eta * grad_f(x)
    return x
""",
        expect="only the final x",
    ),
    Variant(
        "gd",
        "steps iterates without x0",
        """
def gd(eta, grad_f, x0=10.0, steps=10):
    x, results = x0, []
    for _ in range(steps):
        x -= eta * grad_f(x)
        results.append(float(x))
    return results
""",
        expect="without x0",
    ),
    Variant(
        "gd",
        "records before each step, so the last is missing",
        """
def gd(eta, grad_f, x0=10.0, steps=10):
    x, results = x0, []
    for _ in range(steps):
        results.append(float(x))
        x -= eta * grad_f(x)
    return results
""",
        expect="missing the result of the last step",
    ),
    Variant(
        "gd",
        "gradient ascent",
        """
def gd(eta, grad_f, x0=10.0, steps=10):
    x, results = x0, [x0]
    for _ in range(steps):
        x += eta * grad_f(x)
        results.append(float(x))
    return results
""",
        expect="gradient ascent",
    ),
    Variant(
        "newton",
        "without eta",
        """
def newton(eta, grad_f, hess_f, x0=10.0, steps=10):
    x, results = x0, [x0]
    for _ in range(steps):
        x -= grad_f(x) / hess_f(x)
        results.append(float(x))
    return results
""",
        expect="without eta",
    ),
    Variant(
        "newton",
        "a plain gradient step",
        """
def newton(eta, grad_f, hess_f, x0=10.0, steps=10):
    x, results = x0, [x0]
    for _ in range(steps):
        x -= eta * grad_f(x)
        results.append(float(x))
    return results
""",
        expect="the Hessian left out",
    ),
    Variant(
        "gd_2d",
        "gradient (2 x1, 2 x2)",
        """
def gd_2d(x1, x2, eta):
    return (x1 - eta * 2 * x1, x2 - eta * 2 * x2)
""",
        expect="the gradient (2 * x1, 2 * x2)",
    ),
    Variant(
        "gd_2d",
        "the book's four-tuple",
        """
def gd_2d(x1, x2, eta):
    return (x1 - eta * 2 * x1, x2 - eta * 4 * x2, 0, 0)
""",
        expect="(x1, x2, s1, s2)",
    ),
    Variant(
        "sgd_2d",
        "noise added after the step",
        """
def sgd_2d(x1, x2, eta_t, noise):
    return (x1 - eta_t * 2 * x1 + noise[0], x2 - eta_t * 4 * x2 + noise[1])
""",
        expect="noise added after the step",
    ),
    Variant(
        "train_2d",
        "leaves out x0",
        """
def train_2d(trainer, steps=20, x0=(-5.0, -2.0)):
    x1, x2 = x0
    results = []
    for _ in range(steps):
        x1, x2 = trainer(x1, x2)
        results.append((x1, x2))
    return results
""",
        expect="without x0",
    ),
    Variant(
        "train_2d",
        "always starts from the book's (-5, -2)",
        """
def train_2d(trainer, steps=20, x0=(-5.0, -2.0)):
    x1, x2 = -5.0, -2.0
    results = [(x1, x2)]
    for _ in range(steps):
        x1, x2 = trainer(x1, x2)
        results.append((x1, x2))
    return results
""",
        expect="default x0",
    ),
    Variant(
        "exponential_lr",
        "growing rate",
        """
def exponential_lr(t):
    return math.exp(0.1 * t)
""",
        expect="sign flipped",
    ),
    Variant(
        "exponential_lr",
        "the book's t += 1 first",
        """
def exponential_lr(t):
    t += 1
    return math.exp(-0.1 * t)
""",
        expect="t + 1",
    ),
    Variant(
        "polynomial_lr",
        "exponent +0.5",
        """
def polynomial_lr(t):
    return (1 + 0.1 * t) ** 0.5
""",
        expect="sign flipped",
    ),
]

RIGHT = [
    Variant(
        "gd",
        "0-d tensors",
        """
def gd(eta, grad_f, x0=10.0, steps=10):
    x = torch.tensor(x0, dtype=torch.float64)
    results = [float(x)]
    for _ in range(steps):
        x = x - eta * grad_f(x)
        results.append(x.item())
    return results
""",
        extra_imports="import torch",
    ),
    Variant(
        "newton",
        "eta times the ratio",
        """
def newton(eta, grad_f, hess_f, x0=10.0, steps=10):
    results = [x0]
    while len(results) <= steps:
        x = results[-1]
        results.append(x - eta * (grad_f(x) / hess_f(x)))
    return results
""",
    ),
    Variant(
        "gd_2d",
        "factored step",
        """
def gd_2d(x1, x2, eta):
    return x1 * (1 - 2 * eta), x2 * (1 - 4 * eta)
""",
    ),
    Variant(
        "sgd_2d",
        "a list comprehension",
        """
def sgd_2d(x1, x2, eta_t, noise):
    grads = [2 * x1 + noise[0], 4 * x2 + noise[1]]
    return tuple(x - eta_t * g for x, g in zip((x1, x2), grads))
""",
    ),
    Variant(
        "train_2d",
        "list of lists",
        """
def train_2d(trainer, steps=20, x0=(-5.0, -2.0)):
    points = [list(x0)]
    for _ in range(steps):
        points.append(list(trainer(*points[-1])))
    return points
""",
    ),
    Variant(
        "exponential_lr",
        "e to the power",
        """
def exponential_lr(t):
    return math.e ** (-t / 10)
""",
    ),
    Variant(
        "polynomial_lr",
        "one over a square root",
        """
def polynomial_lr(t):
    return 1 / math.sqrt(1 + t / 10)
""",
    ),
]
