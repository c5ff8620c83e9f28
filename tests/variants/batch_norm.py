"""Variants of the batch normalisation stubs."""

from .harness import Variant

NO_TRAINING = {"training": False}


def _bn(body: str) -> str:
    """A batch_norm with the given middle part (training-mode statistics and update)."""
    return (
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("2-D or 4-D input only")
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        dims = (0,) if X.dim() == 2 else (0, 2, 3)
"""
        + body
        + """
    Y = gamma * X_hat + beta
    return Y, moving_mean.detach(), moving_var.detach()
"""
    )


CORRECT_STATS = """
        mean = X.mean(dim=dims, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
"""
CORRECT_UPDATE = """
        with torch.no_grad():
            moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
            moving_var = momentum * moving_var + (1.0 - momentum) * var
"""
CORRECT_NORMALISE = """
        X_hat = (X - mean) / torch.sqrt(var + eps)
"""

# The contract's BatchNorm.__init__, for variants whose mistake is in forward.
CORRECT_LAYER_INIT = """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))
"""

WRONG = [
    Variant(
        "batch_norm",
        "statistics over the batch axis only for 4-D input",
        _bn(
            """
        mean = X.mean(dim=0, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=0, keepdim=True)
"""
            + CORRECT_NORMALISE
            + CORRECT_UPDATE
        ),
        expect="batch axis only",
    ),
    Variant(
        "batch_norm",
        "unbiased variance (n - 1)",
        _bn(
            """
        mean = X.mean(dim=dims, keepdim=True)
        var = X.var(dim=dims, keepdim=True)
"""
            + CORRECT_NORMALISE
            + CORRECT_UPDATE
        ),
        expect="unbiased (n - 1) variance",
    ),
    Variant(
        "batch_norm",
        "eps outside the square root",
        _bn(
            CORRECT_STATS
            + """
        X_hat = (X - mean) / (torch.sqrt(var) + eps)
"""
            + CORRECT_UPDATE
        ),
        expect="eps outside the square root",
    ),
    Variant(
        "batch_norm",
        "momentum weighing the new value",
        _bn(
            CORRECT_STATS
            + CORRECT_NORMALISE
            + """
        with torch.no_grad():
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
"""
        ),
        expect="momentum weighing the new value",
    ),
    Variant(
        "batch_norm",
        "moving statistics not detached",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("2-D or 4-D input only")
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        dims = (0,) if X.dim() == 2 else (0, 2, 3)
        mean = X.mean(dim=dims, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    return gamma * X_hat + beta, moving_mean, moving_var
""",
        expect="not detached",
    ),
    Variant(
        "batch_norm",
        "the seed's chained means, without the detach",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("2-D or 4-D input only")
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        if X.dim() == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=0, keepdim=True).mean(dim=2, keepdim=True).mean(dim=3, keepdim=True)
            var = ((X - mean) ** 2).mean(dim=0, keepdim=True).mean(dim=2, keepdim=True).mean(
                dim=3, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta
    return Y, moving_mean, moving_var
""",
        expect="not detached",
    ),
    Variant(
        "batch_norm",
        "prediction mode updating the statistics",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("2-D or 4-D input only")
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    mean = X.mean(dim=dims, keepdim=True)
    var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        X_hat = (X - mean) / torch.sqrt(var + eps)
    with torch.no_grad():
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    return gamma * X_hat + beta, moving_mean, moving_var
""",
        expect="prediction mode updated the moving statistics",
    ),
    Variant(
        "batch_norm",
        "batch statistics in prediction mode",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("2-D or 4-D input only")
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    mean = X.mean(dim=dims, keepdim=True)
    var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
    X_hat = (X - mean) / torch.sqrt(var + eps)
    if is_training:
        with torch.no_grad():
            moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
            moving_var = momentum * moving_var + (1.0 - momentum) * var
    return gamma * X_hat + beta, moving_mean.detach(), moving_var.detach()
""",
        expect="batch statistics in prediction mode",
    ),
    Variant(
        "batch_norm",
        "the one-pass variance E[X^2] - E[X]^2",
        _bn(
            """
        mean = X.mean(dim=dims, keepdim=True)
        var = (X * X).mean(dim=dims, keepdim=True) - mean ** 2
"""
            + CORRECT_NORMALISE
            + CORRECT_UPDATE
        ),
        expect="cancels catastrophically",
    ),
    Variant(
        "batch_norm",
        "gamma and beta swapped",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("2-D or 4-D input only")
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        dims = (0,) if X.dim() == 2 else (0, 2, 3)
        mean = X.mean(dim=dims, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        with torch.no_grad():
            moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
            moving_var = momentum * moving_var + (1.0 - momentum) * var
    return beta * X_hat + gamma, moving_mean.detach(), moving_var.detach()
""",
        expect="gamma and beta swapped",
    ),
    Variant(
        "batch_norm",
        "the book's assert instead of ValueError",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        dims = (0,) if X.dim() == 2 else (0, 2, 3)
        mean = X.mean(dim=dims, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        with torch.no_grad():
            moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
            moving_var = momentum * moving_var + (1.0 - momentum) * var
    return gamma * X_hat + beta, moving_mean.detach(), moving_var.detach()
""",
        expect="should raise ValueError",
    ),
    Variant(
        "batch_norm",
        "PyTorch's unbiased moving variance",
        _bn(
            CORRECT_STATS
            + CORRECT_NORMALISE
            + """
        with torch.no_grad():
            moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
            moving_var = momentum * moving_var + (1.0 - momentum) * X.var(dim=dims, keepdim=True)
"""
        ),
        expect="unbiased (n - 1) variance",
    ),
    Variant(
        "batch_norm",
        "calls F.batch_norm",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("2-D or 4-D input only")
    rm, rv = moving_mean.reshape(-1).clone(), moving_var.reshape(-1).clone()
    Y = torch.nn.functional.batch_norm(X, rm, rv, None, None, training=is_training,
                                       momentum=1 - momentum, eps=eps)
    if is_training:
        dims = (0,) if X.dim() == 2 else (0, 2, 3)
        var = ((X - X.mean(dim=dims, keepdim=True)) ** 2).mean(dim=dims, keepdim=True)
        rm = momentum * moving_mean + (1 - momentum) * X.mean(dim=dims, keepdim=True)
        rv = momentum * moving_var + (1 - momentum) * var
    else:
        rm, rv = moving_mean, moving_var
    return gamma * Y + beta, rm.detach(), rv.detach()
""",
        expect="the source calls torch.nn.functional.batch_norm",
    ),
    Variant(
        "BatchNorm",
        "gamma and beta as plain tensors",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = torch.ones(shape)
        self.beta = torch.zeros(shape)
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X):
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y
""",
        expect="not a parameter",
    ),
    Variant(
        "BatchNorm",
        "gamma and beta as buffers",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.register_buffer("gamma", torch.ones(shape))
        self.register_buffer("beta", torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X):
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y
""",
        expect="is a buffer",
    ),
    Variant(
        "BatchNorm",
        "gamma and beta as hyperparameters",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, gamma=1.0, beta=0.0):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma, self.beta = gamma, beta
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X):
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y
""",
        expect="as if it were a hyperparameter",
    ),
    Variant(
        "BatchNorm",
        "the seed's zero-initialised moving variance",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.zeros(shape))

    def forward(self, X):
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y
""",
        expect="zero-initialised moving variance",
    ),
    Variant(
        "BatchNorm",
        "moving statistics as plain attributes (the book's)",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y
""",
        expect="register_buffer",
    ),
    Variant(
        "BatchNorm",
        "moving statistics as parameters",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = nn.Parameter(torch.zeros(shape), requires_grad=False)
        self.moving_var = nn.Parameter(torch.ones(shape), requires_grad=False)

    def forward(self, X):
        Y, mm, mv = batch_norm(self.training, X, self.gamma, self.beta, self.moving_mean,
                               self.moving_var, eps=1e-5, momentum=0.9)
        self.moving_mean.data, self.moving_var.data = mm, mv
        return Y
""",
        expect="is a parameter",
    ),
    Variant(
        "BatchNorm",
        "PyTorch's momentum convention (0.1)",
        CORRECT_LAYER_INIT
        + """
    def forward(self, X):
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.1)
        return Y
""",
        expect="momentum weighing the new value",
    ),
    Variant(
        "BatchNorm",
        "always in training mode",
        CORRECT_LAYER_INIT
        + """
    def forward(self, X):
        Y, self.moving_mean, self.moving_var = batch_norm(
            True, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y
""",
        expect="training mode after net.eval()",
    ),
    Variant(
        "BatchNorm",
        "the new statistics thrown away",
        CORRECT_LAYER_INIT
        + """
    def forward(self, X):
        Y, _, _ = batch_norm(self.training, X, self.gamma, self.beta, self.moving_mean,
                             self.moving_var, eps=1e-5, momentum=0.9)
        return Y
""",
        expect="not stored",
    ),
    Variant(
        "lenet_bn",
        "nn.BatchNorm2d (the concise version)",
        """
def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
        nn.Linear(84, 10))
""",
        expect="your own BatchNorm",
        options=NO_TRAINING,
    ),
    Variant(
        "lenet_bn",
        "BatchNorm after the activation",
        """
def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.Sigmoid(), BatchNorm(6, num_dims=4),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), BatchNorm(16, num_dims=4),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(256, 120), nn.Sigmoid(), BatchNorm(120, num_dims=2),
        nn.Linear(120, 84), nn.Sigmoid(), BatchNorm(84, num_dims=2),
        nn.Linear(84, 10))
""",
        expect="wrong places",
        options=NO_TRAINING,
    ),
    Variant(
        "lenet_bn",
        "ReLU activations (with the course notes' max pooling)",
        """
def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, num_dims=4), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(256, 120), BatchNorm(120, num_dims=2), nn.ReLU(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.ReLU(),
        nn.Linear(84, 10))
""",
        expect="nn.Sigmoid",
        options=NO_TRAINING,
    ),
    Variant(
        "lenet_bn",
        "padding 2 as in the plain LeNet",
        """
def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(400, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))
""",
        expect="16 * 4 * 4 = 256",
        options=NO_TRAINING,
    ),
    Variant(
        "lenet_bn",
        "one max and one average pooling",
        """
def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(256, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))
""",
        expect="mixes its pooling layers (MaxPool2d and AvgPool2d)",
        options=NO_TRAINING,
    ),
    Variant(
        "lenet_bn",
        "no pooling",
        """
def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.Flatten(),
        nn.Linear(16 * 20 * 20, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))
""",
        expect="has no pooling layer",
        options=NO_TRAINING,
    ),
    Variant(
        "lenet_bn",
        "adaptive pooling to the right size",
        """
def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.AdaptiveMaxPool2d(12),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.AdaptiveMaxPool2d(4), nn.Flatten(),
        nn.Linear(256, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))
""",
        expect="pools with AdaptiveMaxPool2d",
        options=NO_TRAINING,
    ),
    # A broken network must fail the training threshold, not only the unit checks.
    Variant(
        "lenet_bn",
        "a frozen network",
        """
def lenet_bn():
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(256, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))
    for p in net.parameters():
        p.requires_grad_(False)
    return net
""",
        expect="did not learn",
    ),
    # -- trivial answers: what they satisfy counts only alongside a right output ----------
    Variant(
        "batch_norm",
        "scales and shifts X without normalising, moving statistics untouched",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    return X * gamma + beta, moving_mean, moving_var
""",
        expect="counts only once an output of batch_norm is right",
        options=NO_TRAINING,
    ),
    Variant(
        "BatchNorm",
        "the right parameters and buffers, but forward returns X",
        CORRECT_LAYER_INIT
        + """
    def forward(self, X):
        return X
""",
        expect="counts only once an output of BatchNorm is right",
        options=NO_TRAINING,
    ),
]

RIGHT = [
    Variant(
        "batch_norm",
        "the seed's chained means with the detach added",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if len(X.shape) not in (2, 4):
        raise ValueError("batch_norm: X must be 2-D or 4-D")
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=0, keepdim=True).mean(dim=2, keepdim=True).mean(dim=3, keepdim=True)
            var = ((X - mean) ** 2).mean(dim=0, keepdim=True).mean(dim=2, keepdim=True).mean(
                dim=3, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.detach(), moving_var.detach()
""",
    ),
    Variant(
        "batch_norm",
        "torch.var(correction=0), rsqrt and .data",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.ndim == 2:
        dims = [0]
    elif X.ndim == 4:
        dims = [0, 2, 3]
    else:
        raise ValueError(f"expected 2-D or 4-D input, got {X.ndim}-D")
    if is_training:
        var, mean = torch.var_mean(X, dim=dims, keepdim=True, correction=0)
        X_hat = (X - mean) * torch.rsqrt(var + eps)
        moving_mean = (momentum * moving_mean + (1.0 - momentum) * mean).data
        moving_var = (momentum * moving_var + (1.0 - momentum) * var).data
    else:
        X_hat = (X - moving_mean) * torch.rsqrt(moving_var + eps)
    return X_hat * gamma + beta, moving_mean, moving_var
""",
    ),
    Variant(
        "batch_norm",
        "centred sum divided by the count",
        """
def batch_norm(is_training, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if X.dim() not in (2, 4):
        raise ValueError("only (N, C) and (N, C, H, W)")
    if is_training:
        dims = tuple(d for d in range(X.dim()) if d != 1)
        n = X.numel() // X.shape[1]
        mean = X.sum(dim=dims, keepdim=True) / n
        centred = X - mean
        var = (centred * centred).sum(dim=dims, keepdim=True) / n
        Y = gamma * (centred / (var + eps).sqrt()) + beta
        with torch.no_grad():
            new_mean = moving_mean * momentum + mean * (1 - momentum)
            new_var = moving_var * momentum + var * (1 - momentum)
        return Y, new_mean, new_var
    Y = gamma * ((X - moving_mean) / (moving_var + eps).sqrt()) + beta
    return Y, moving_mean, moving_var
""",
    ),
    Variant(
        "BatchNorm",
        "the book's is_grad_enabled test, shape built from num_dims",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features, *([1] * (num_dims - 2)))
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X):
        Y, self.moving_mean, self.moving_var = batch_norm(
            torch.is_grad_enabled(), X, self.gamma, self.beta, self.moving_mean,
            self.moving_var, eps=1e-5, momentum=0.9)
        return Y
""",
    ),
    Variant(
        "BatchNorm",
        "buffers updated in place",
        """
class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.register_parameter("gamma", nn.Parameter(torch.ones(*shape)))
        self.register_parameter("beta", nn.Parameter(torch.zeros(*shape)))
        self.register_buffer("moving_mean", torch.zeros(*shape))
        self.register_buffer("moving_var", torch.ones(*shape))

    def forward(self, X):
        Y, mean, var = batch_norm(self.training, X, self.gamma, self.beta, self.moving_mean,
                                  self.moving_var, 1e-5, 0.9)
        self.moving_mean.copy_(mean)
        self.moving_var.copy_(var)
        return Y
""",
    ),
    # The course notes' LeNet pools by the maximum; trained against a max-pooling reference.
    Variant(
        "lenet_bn",
        "the course notes' max pooling, stride left to its default",
        """
def lenet_bn():
    conv = lambda i, o: [nn.Conv2d(i, o, 5), BatchNorm(o, num_dims=4), nn.Sigmoid(), nn.MaxPool2d(2)]
    return nn.Sequential(*conv(1, 6), *conv(6, 16), nn.Flatten(),
                         nn.Linear(256, 120), BatchNorm(120, 2), nn.Sigmoid(),
                         nn.Linear(120, 84), BatchNorm(84, 2), nn.Sigmoid(),
                         nn.Linear(84, 10))
""",
    ),
    # The book's second edition pools by the average, in both places.
    Variant(
        "lenet_bn",
        "layers appended one by one",
        """
def lenet_bn():
    net = nn.Sequential()
    for layer in [nn.Conv2d(1, 6, 5), BatchNorm(6, 4), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                  nn.Conv2d(6, 16, 5), BatchNorm(16, 4), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                  nn.Flatten(), nn.Linear(256, 120), BatchNorm(120, 2), nn.Sigmoid(),
                  nn.Linear(120, 84), BatchNorm(84, 2), nn.Sigmoid(), nn.Linear(84, 10)]:
        net.append(layer)
    return net
""",
    ),
]
