"""Variants of the MLP stubs."""

from .harness import Variant

NO_TRAINING = {"training": False}

WRONG = [
    # -- relu -----------------------------------------------------------------------------
    Variant(
        "relu",
        "calls torch.relu",
        """
def relu(X):
    return torch.relu(X)
""",
        expect="the source calls torch.relu",
    ),
    Variant(
        "relu",
        "F.relu under an alias",
        """
def relu(X):
    return act(X)
""",
        expect="the source calls torch.nn.functional.relu",
        extra_imports="from torch.nn.functional import relu as act",
    ),
    Variant(
        "relu",
        "zeroes the negatives in place",
        """
def relu(X):
    X[X < 0] = 0
    return X
""",
        expect="changed in place",
    ),
    Variant(
        "relu",
        "torch.max(X, 0) reduces",
        """
def relu(X):
    return torch.max(X, 0)
""",
        expect="reduction",
    ),
    # -- sigmoid --------------------------------------------------------------------------
    Variant(
        "sigmoid",
        "exp(X) / (1 + exp(X)) overflows",
        """
def sigmoid(X):
    return torch.exp(X) / (1 + torch.exp(X))
""",
        expect="overflow",
    ),
    Variant(
        "sigmoid",
        "sign of the exponent flipped",
        """
def sigmoid(X):
    return 1 / (1 + torch.exp(X))
""",
        expect="sign of the exponent",
    ),
    Variant(
        "sigmoid",
        "calls torch.sigmoid",
        """
def sigmoid(X):
    return torch.sigmoid(X)
""",
        expect="the source calls torch.sigmoid",
    ),
    Variant(
        "sigmoid",
        "computes in float32 whatever the input",
        # Its gradient is drawn in float32 too: the gradient check must stop at the dtype,
        # before it asks the answer key for a gradient the reference was never given.
        """
def sigmoid(X):
    return 1 / (1 + torch.exp(-X.float()))
""",
        expect="expected dtype torch.float64, got torch.float32",
    ),
    # -- tanh -----------------------------------------------------------------------------
    Variant(
        "tanh",
        "naive exp formula",
        """
def tanh(X):
    return (torch.exp(X) - torch.exp(-X)) / (torch.exp(X) + torch.exp(-X))
""",
        expect="overflow",
    ),
    Variant(
        "tanh",
        "exp(-2x) form without the sign split",
        """
def tanh(X):
    return (1 - torch.exp(-2 * X)) / (1 + torch.exp(-2 * X))
""",
        expect="overflow",
    ),
    Variant(
        "tanh",
        "exp(-x) instead of exp(-2x)",
        """
def tanh(X):
    Z = torch.where(X >= 0, X, -X)
    T = (1 - torch.exp(-Z)) / (1 + torch.exp(-Z))
    return torch.where(X >= 0, T, -T)
""",
        expect="exp(-2x)",
    ),
    Variant(
        "tanh",
        "calls torch.tanh",
        """
def tanh(X):
    return X.tanh()
""",
        expect="the source calls Tensor.tanh",
    ),
    # -- init_params ----------------------------------------------------------------------
    Variant(
        "init_params",
        "weights with standard deviation 1",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W1 = torch.randn(num_inputs, num_hiddens, generator=generator, requires_grad=True)
    b1 = torch.zeros(num_hiddens, requires_grad=True)
    W2 = torch.randn(num_hiddens, num_outputs, generator=generator, requires_grad=True)
    b2 = torch.zeros(num_outputs, requires_grad=True)
    return [W1, b1, W2, b2]
""",
        expect="standard deviation 1",
    ),
    Variant(
        "init_params",
        "random biases",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W1 = torch.normal(0, 0.01, (num_inputs, num_hiddens), generator=generator, requires_grad=True)
    b1 = torch.normal(0, 0.01, (num_hiddens,), generator=generator, requires_grad=True)
    W2 = torch.normal(0, 0.01, (num_hiddens, num_outputs), generator=generator, requires_grad=True)
    b2 = torch.normal(0, 0.01, (num_outputs,), generator=generator, requires_grad=True)
    return [W1, b1, W2, b2]
""",
        expect="start at zero",
    ),
    Variant(
        "init_params",
        "no requires_grad",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W1 = torch.randn(num_inputs, num_hiddens, generator=generator) * 0.01
    b1 = torch.zeros(num_hiddens)
    W2 = torch.randn(num_hiddens, num_outputs, generator=generator) * 0.01
    b2 = torch.zeros(num_outputs)
    return [W1, b1, W2, b2]
""",
        expect="does not require grad",
    ),
    Variant(
        "init_params",
        "scaled after requires_grad: not a leaf",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W1 = torch.randn(num_inputs, num_hiddens, generator=generator, requires_grad=True) * 0.01
    b1 = torch.zeros(num_hiddens, requires_grad=True)
    W2 = torch.randn(num_hiddens, num_outputs, generator=generator, requires_grad=True) * 0.01
    b2 = torch.zeros(num_outputs, requires_grad=True)
    return [W1, b1, W2, b2]
""",
        expect="not a leaf",
    ),
    Variant(
        "init_params",
        "zero weights",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W1 = torch.zeros(num_inputs, num_hiddens, requires_grad=True)
    b1 = torch.zeros(num_hiddens, requires_grad=True)
    W2 = torch.zeros(num_hiddens, num_outputs, requires_grad=True)
    b2 = torch.zeros(num_outputs, requires_grad=True)
    return [W1, b1, W2, b2]
""",
        expect="same gradient",
    ),
    Variant(
        "init_params",
        "ignores the generator",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W1 = torch.normal(0, 0.01, (num_inputs, num_hiddens), requires_grad=True)
    b1 = torch.zeros(num_hiddens, requires_grad=True)
    W2 = torch.normal(0, 0.01, (num_hiddens, num_outputs), requires_grad=True)
    b2 = torch.zeros(num_outputs, requires_grad=True)
    return [W1, b1, W2, b2]
""",
        expect="the generator is not used",
    ),
    # -- net ------------------------------------------------------------------------------
    Variant(
        "net",
        "ReLU on the output",
        """
def net(X, params):
    W1, b1, W2, b2 = params
    H = relu(X.reshape((-1, W1.shape[0])) @ W1 + b1)
    return relu(H @ W2 + b2)
""",
        expect="ReLU on the output",
        options=NO_TRAINING,
    ),
    Variant(
        "net",
        "no hidden ReLU",
        """
def net(X, params):
    W1, b1, W2, b2 = params
    H = X.reshape((-1, W1.shape[0])) @ W1 + b1
    return H @ W2 + b2
""",
        expect="hidden layer's ReLU left out",
        options=NO_TRAINING,
    ),
    Variant(
        "net",
        "no reshape",
        """
def net(X, params):
    W1, b1, W2, b2 = params
    H = relu(X @ W1 + b1)
    return H @ W2 + b2
""",
        expect="flatten each to a row first",
        options=NO_TRAINING,
    ),
    Variant(
        "net",
        "global num_inputs = 784",
        """
num_inputs = 784


def net(X, params):
    W1, b1, W2, b2 = params
    H = relu(X.reshape((-1, num_inputs)) @ W1 + b1)
    return H @ W2 + b2
""",
        expect="not a fixed 784",
        options=NO_TRAINING,
    ),
    # Must fail training, not only the unit checks: the loss applies a second softmax to
    # probabilities, whose gradients are tiny, and the model learns far too slowly.
    Variant(
        "net",
        "softmax on the output",
        """
def net(X, params):
    W1, b1, W2, b2 = params
    H = relu(X.reshape((-1, W1.shape[0])) @ W1 + b1)
    O = H @ W2 + b2
    return torch.softmax(O, dim=1)
""",
        expect="did not learn well enough",
    ),
    # -- trivial answers: what they satisfy counts only alongside a right output ----------
    Variant(
        "init_params",
        "every parameter zero",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    sizes = [(num_inputs, num_hiddens), (num_hiddens,), (num_hiddens, num_outputs), (num_outputs,)]
    return [torch.zeros(size, requires_grad=True) for size in sizes]
""",
        expect="counts only once an output of init_params is right",
        options={"training": False},
    ),
]

RIGHT = [
    Variant(
        "relu",
        "X * (X > 0)",
        """
def relu(X):
    return X * (X > 0)
""",
    ),
    Variant(
        "relu",
        "clamp",
        """
def relu(X):
    return torch.clamp(X, min=0)
""",
    ),
    Variant(
        "relu",
        "where",
        """
def relu(X):
    return torch.where(X > 0, X, torch.zeros_like(X))
""",
    ),
    # 1 / (1 + exp(-X)) is the contract's formula, and it is finite: for X = -1e4, exp(1e4)
    # overflows to inf and 1 / inf is 0. (Its gradient is NaN there, inf / inf; the
    # contract asks only for finite values.)
    Variant(
        "sigmoid",
        "the naive formula",
        """
def sigmoid(X):
    return 1 / (1 + torch.exp(-X))
""",
    ),
    Variant(
        "sigmoid",
        "sign split with abs",
        """
def sigmoid(X):
    e = torch.exp(-torch.abs(X))
    return torch.where(X >= 0, 1 / (1 + e), e / (1 + e))
""",
    ),
    Variant(
        "sigmoid",
        "from tanh",
        """
def sigmoid(X):
    return 0.5 * (1 + tanh(X / 2))
""",
    ),
    Variant(
        "tanh",
        "from sigmoid",
        """
def tanh(X):
    return 2 * sigmoid(2 * X) - 1
""",
    ),
    Variant(
        "tanh",
        "sign times the positive part",
        """
def tanh(X):
    e = torch.exp(-2 * X.abs())
    return torch.sign(X) * (1 - e) / (1 + e)
""",
    ),
    Variant(
        "init_params",
        "the book's nn.Parameter",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens, generator=generator) * 0.01)
    b1 = nn.Parameter(torch.zeros(num_hiddens))
    W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs, generator=generator) * 0.01)
    b2 = nn.Parameter(torch.zeros(num_outputs))
    return [W1, b1, W2, b2]
""",
        extra_imports="from torch import nn",
    ),
    Variant(
        "init_params",
        "W2 drawn first, requires_grad_ after scaling",
        """
def init_params(num_inputs, num_hiddens, num_outputs, generator=None):
    W2 = (torch.randn(num_hiddens, num_outputs, generator=generator) * 0.01).requires_grad_()
    W1 = (torch.randn(num_inputs, num_hiddens, generator=generator) * 0.01).requires_grad_()
    b1 = torch.zeros(num_hiddens).requires_grad_()
    b2 = torch.zeros(num_outputs).requires_grad_()
    return [W1, b1, W2, b2]
""",
    ),
    Variant(
        "net",
        "view and mm",
        """
def net(X, params):
    W1, b1, W2, b2 = params
    X = X.view(-1, W1.shape[0])
    return relu(X.mm(W1) + b1).mm(W2) + b2
""",
        options=NO_TRAINING,
    ),
    Variant(
        "net",
        "addmm and reshape by batch",
        """
def net(X, params):
    W1, b1, W2, b2 = params
    H = relu(torch.addmm(b1, X.reshape(X.shape[0], -1), W1))
    return torch.matmul(H, W2) + b2
""",
    ),
]
