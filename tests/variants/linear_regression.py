"""Variants of the linear regression stubs."""

from .harness import Variant

WRONG = [
    Variant(
        "synthetic_data",
        "uniform features",
        """
def synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    X = torch.rand((num_examples, len(w)), generator=generator, dtype=w.dtype)
    y = X @ w + b + torch.normal(0, noise, (num_examples,), generator=generator, dtype=w.dtype)
    return X, y
""",
        expect="standard normal",
    ),
    Variant(
        "synthetic_data",
        "noise as variance",
        """
def synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    X = torch.normal(0, 1, (num_examples, len(w)), generator=generator, dtype=w.dtype)
    y = X @ w + b + torch.normal(0, noise ** 2, (num_examples,), generator=generator, dtype=w.dtype)
    return X, y
""",
        expect="not the variance",
    ),
    Variant(
        "synthetic_data",
        "column labels as in the book",
        """
def synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    X = torch.normal(0, 1, (num_examples, len(w)), generator=generator, dtype=w.dtype)
    y = X @ w + b + torch.normal(0, noise, (num_examples,), generator=generator, dtype=w.dtype)
    return X, y.reshape((-1, 1))
""",
        expect="labels shaped (n, 1)",
    ),
    Variant(
        "synthetic_data",
        "ignores the generator",
        """
def synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    X = torch.normal(0, 1, (num_examples, len(w)), dtype=w.dtype)
    y = X @ w + b + torch.normal(0, noise, (num_examples,), dtype=w.dtype)
    return X, y
""",
        expect="the generator is not used",
    ),
    Variant(
        "synthetic_data",
        "noise drawn without the generator",
        """
def synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    X = torch.normal(0, 1, (num_examples, len(w)), generator=generator, dtype=w.dtype)
    y = X @ w + b + torch.normal(0, noise, (num_examples,), dtype=w.dtype)
    return X, y
""",
        expect="same label noise",
        options={"training": False},
    ),
    Variant(
        "data_iter",
        "drops the last partial batch",
        """
def data_iter(batch_size, features, labels, generator=None):
    indices = torch.randperm(len(features), generator=generator)
    for i in range(0, len(features) - batch_size + 1, batch_size):
        j = indices[i: i + batch_size]
        yield features[j], labels[j]
""",
        expect="last, smaller batch",
    ),
    Variant(
        "data_iter",
        "samples with replacement",
        """
def data_iter(batch_size, features, labels, generator=None):
    n = len(features)
    for i in range(0, n, batch_size):
        j = torch.randint(0, n, (min(batch_size, n - i),), generator=generator)
        yield features[j], labels[j]
""",
        expect="with replacement",
    ),
    Variant(
        "data_iter",
        "no shuffling",
        """
def data_iter(batch_size, features, labels, generator=None):
    for i in range(0, len(features), batch_size):
        yield features[i: i + batch_size], labels[i: i + batch_size]
""",
        expect="original order",
    ),
    Variant(
        "data_iter",
        "labels shuffled separately",
        """
def data_iter(batch_size, features, labels, generator=None):
    a = torch.randperm(len(features), generator=generator)
    c = torch.randperm(len(features), generator=generator)
    for i in range(0, len(features), batch_size):
        yield features[a[i: i + batch_size]], labels[c[i: i + batch_size]]
""",
        expect="out of step",
    ),
    Variant(
        "linreg",
        "elementwise product",
        """
def linreg(X, w, b):
    return (X * w.reshape(-1)).sum(1, keepdim=True) * 0 + X * w.reshape(-1) + b
""",
        expect="elementwise product",
    ),
    Variant(
        "linreg",
        "bias forgotten",
        """
def linreg(X, w, b):
    return X @ w
""",
        expect="is wrong",
    ),
    Variant(
        "squared_loss",
        "forgot the half",
        """
def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2
""",
        expect="missing 1/2",
    ),
    Variant(
        "squared_loss",
        "mean instead of per example",
        """
def squared_loss(y_hat, y):
    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()
""",
        expect="mean over the batch",
    ),
    Variant(
        "squared_loss",
        "no reshape",
        """
def squared_loss(y_hat, y):
    return (y_hat - y) ** 2 / 2
""",
        expect="y not reshaped",
    ),
    Variant(
        "sgd",
        "rebinding instead of updating in place",
        """
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param = param - lr * param.grad / batch_size
""",
        expect="rebinds the loop variable",
    ),
    Variant(
        "sgd",
        "not dividing by the batch size",
        """
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad
""",
        expect="not dividing by the batch size",
    ),
    Variant(
        "sgd",
        "zeroes the gradients",
        """
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
""",
        expect="cleared the gradients",
    ),
    Variant(
        "sgd",
        "gradient ascent",
        """
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param += lr * param.grad / batch_size
""",
        expect="a step up the gradient",
    ),
    Variant(
        "sgd",
        "calls torch.optim.SGD",
        """
def sgd(params, lr, batch_size):
    for p in params:
        p.grad /= batch_size
    torch.optim.SGD(params, lr=lr).step()
    for p in params:
        p.grad *= batch_size
""",
        expect="the source calls torch.optim.SGD",
    ),
]

RIGHT = [
    Variant(
        "synthetic_data",
        "randn and matmul",
        """
def synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    X = torch.randn(num_examples, w.shape[0], generator=generator, dtype=w.dtype)
    eps = torch.randn(num_examples, generator=generator, dtype=w.dtype) * noise
    return X, torch.mv(X, w) + b + eps
""",
    ),
    Variant(
        "data_iter",
        "list of indices as in the book",
        """
def data_iter(batch_size, features, labels, generator=None):
    num_examples = len(features)
    order = torch.randperm(num_examples, generator=generator).tolist()
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(order[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]
""",
    ),
    Variant(
        "linreg",
        "mm and broadcasting",
        """
def linreg(X, w, b):
    return torch.mm(X, w) + b.reshape(1, -1)
""",
    ),
    Variant(
        "squared_loss",
        "view_as and multiply by a half",
        """
def squared_loss(y_hat, y):
    d = y_hat - y.view_as(y_hat)
    return 0.5 * d * d
""",
    ),
    Variant(
        "sgd",
        "the .data form",
        """
def sgd(params, lr, batch_size):
    for param in params:
        param.data.sub_(lr * param.grad / batch_size)
""",
    ),
]
