"""Variants of the convexity stubs."""

from .harness import Variant

WRONG = [
    Variant(
        "jensen_gap",
        "sign flipped",
        """
def jensen_gap(f, xs, weights):
    return float(f((weights * xs).sum()) - (weights * f(xs)).sum())
""",
        expect="sign flipped",
    ),
    Variant(
        "jensen_gap",
        "unweighted averages",
        """
def jensen_gap(f, xs, weights):
    return float(f(xs).mean() - f(xs.mean()))
""",
        expect="unweighted average",
    ),
    Variant(
        "jensen_gap",
        "returns a tensor",
        """
def jensen_gap(f, xs, weights):
    return (weights * f(xs)).sum() - f((weights * xs).sum())
""",
        expect=".item()",
    ),
    Variant(
        "jensen_gap",
        "absolute value",
        """
def jensen_gap(f, xs, weights):
    return abs(float((weights * f(xs)).sum() - f((weights * xs).sum())))
""",
        expect="absolute value",
    ),
    Variant(
        "second_derivative",
        "central finite differences",
        """
def second_derivative(f, x, h=1e-4):
    x = torch.tensor(float(x), dtype=torch.float64)
    return float((f(x + h) - 2 * f(x) + f(x - h)) / h ** 2)
""",
        expect="that is finite differences",
    ),
    Variant(
        "second_derivative",
        "differentiates once",
        """
def second_derivative(f, x):
    x = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    (dy,) = torch.autograd.grad(f(x), x)
    return dy.item()
""",
        expect="the first derivative",
    ),
    Variant(
        "second_derivative",
        "returns a tensor",
        """
def second_derivative(f, x):
    x = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    (dy,) = torch.autograd.grad(f(x), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy, x)
    return d2y
""",
        expect=".item()",
    ),
    Variant(
        "hessian",
        "forward differences of the gradient",
        """
def hessian(f, x, h=1e-6):
    def grad(z):
        z = z.detach().clone().requires_grad_(True)
        return torch.autograd.grad(f(z), z)[0]
    g0 = grad(x)
    cols = []
    for j in range(len(x)):
        e = torch.zeros_like(x)
        e[j] = h
        cols.append((grad(x + e) - g0) / h)
    return torch.stack(cols, 1)
""",
        expect="not symmetric",
    ),
    Variant(
        "hessian",
        "finite differences of f",
        """
def hessian(f, x, h=1e-4):
    x = x.detach()
    d = len(x)
    H = torch.zeros(d, d, dtype=x.dtype)
    E = torch.eye(d, dtype=x.dtype) * h
    for i in range(d):
        for j in range(d):
            H[i, j] = (f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j])
                       + f(x - E[i] - E[j])) / (4 * h * h)
    return H
""",
        expect="finite differences",
    ),
    Variant(
        "hessian",
        "gradient of grad.sum()",
        """
def hessian(f, x):
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    return torch.autograd.grad(g.sum(), x)[0]
""",
        expect="row sums",
    ),
    Variant(
        "is_convex_quadratic",
        "eigenvalues of the non-symmetric A",
        """
def is_convex_quadratic(A):
    return bool(torch.linalg.eigvals(A).real.min() >= -1e-6)
""",
        expect="eigenvalues of A itself",
    ),
    Variant(
        "is_convex_quadratic",
        "eigvalsh without symmetrising",
        """
def is_convex_quadratic(A):
    return bool(torch.linalg.eigvalsh(A).min() >= -1e-6)
""",
        expect="eigvalsh on the non-symmetric A",
    ),
    Variant(
        "is_convex_quadratic",
        "symmetric part not halved",
        """
def is_convex_quadratic(A):
    return bool(torch.linalg.eigvalsh(A + A.T).min() >= -1e-6)
""",
        expect="should give True",
    ),
    Variant(
        "is_convex_quadratic",
        "threshold 0",
        """
def is_convex_quadratic(A):
    return bool(torch.linalg.eigvalsh((A + A.T) / 2).min() >= 0)
""",
        expect="threshold of 0",
    ),
    Variant(
        "project_onto_ball",
        "boundary point for inside points",
        """
def project_onto_ball(x, center, radius):
    d = x - center
    n = torch.linalg.norm(d)
    if n == 0:
        return x.clone()
    return center + d * (radius / n)
""",
        expect="boundary point for a point inside",
    ),
    Variant(
        "project_onto_ball",
        "clamps each coordinate",
        """
def project_onto_ball(x, center, radius):
    return torch.clamp(x, center - radius, center + radius)
""",
        expect="clipping each coordinate",
    ),
    Variant(
        "project_onto_ball",
        "changes x in place",
        """
def project_onto_ball(x, center, radius):
    x -= center
    n = torch.linalg.norm(x)
    if n > radius:
        x *= radius / n
    x += center
    return x
""",
        expect="changed in place",
    ),
]

RIGHT = [
    Variant(
        "jensen_gap",
        "a loop over the points",
        """
def jensen_gap(f, xs, weights):
    mean_of_f = sum(w * f(x) for x, w in zip(xs, weights))
    f_of_mean = f(sum(w * x for x, w in zip(xs, weights)))
    return (mean_of_f - f_of_mean).item()
""",
    ),
    Variant(
        "second_derivative",
        "float32 autograd as in the book",
        """
def second_derivative(f, x):
    x = torch.tensor(x, requires_grad=True)
    y = f(x)
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.backward()
    return float(x.grad)
""",
    ),
    Variant(
        "hessian",
        "torch.autograd.functional.hessian",
        """
def hessian(f, x):
    return torch.autograd.functional.hessian(f, x.detach())
""",
    ),
    Variant(
        "hessian",
        "the jacobian of the gradient",
        """
def hessian(f, x):
    def grad(z):
        return torch.autograd.grad(f(z), z, create_graph=True)[0]
    return torch.autograd.functional.jacobian(grad, x.detach().clone().requires_grad_(True))
""",
    ),
    Variant(
        "is_convex_quadratic",
        "real eigenvalues of the symmetric part",
        """
def is_convex_quadratic(A):
    S = 0.5 * (A + A.transpose(0, 1))
    return torch.linalg.eigvals(S).real.min().item() >= -1e-6
""",
    ),
    Variant(
        "project_onto_ball",
        "one formula with a clamped factor",
        """
def project_onto_ball(x, center, radius):
    d = x - center
    n = torch.sqrt((d * d).sum())
    factor = torch.clamp(radius / torch.clamp(n, min=1e-300), max=1.0)
    return center + factor * d
""",
    ),
]
