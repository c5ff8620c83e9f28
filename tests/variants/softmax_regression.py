"""Variants of the softmax regression stubs."""

from .harness import Variant

NO_TRAINING = {"training": False}

WRONG = [
    # -- softmax --------------------------------------------------------------------------
    Variant(
        "softmax",
        "naive exp overflows",
        """
def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition
""",
        expect="overflow",
    ),
    Variant(
        "softmax",
        "normalised over the wrong dim",
        """
def softmax(X):
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(0, keepdim=True)
""",
        expect="wrong dimension",
    ),
    Variant(
        "softmax",
        "row sums without keepdim",
        """
def softmax(X):
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(1)
""",
        expect="keepdim=True",
    ),
    Variant(
        "softmax",
        "subtracts the max in place",
        """
def softmax(X):
    X -= X.max(dim=1, keepdim=True).values
    X_exp = X.exp()
    return X_exp / X_exp.sum(1, keepdim=True)
""",
        expect="changed in place",
    ),
    Variant(
        "softmax",
        "calls torch.softmax",
        """
def softmax(X):
    return torch.softmax(X, dim=1)
""",
        expect="the source calls torch.softmax",
    ),
    Variant(
        "softmax",
        "F.softmax under an alias",
        """
def softmax(X):
    return F.softmax(X, 1)
""",
        expect="the source calls torch.nn.functional.softmax",
        extra_imports="import torch.nn.functional as F",
    ),
    Variant(
        "softmax",
        "exp of log_softmax",
        """
def softmax(X):
    return X.log_softmax(dim=1).exp()
""",
        expect="the source calls Tensor.log_softmax",
    ),
    # -- cross_entropy --------------------------------------------------------------------
    Variant(
        "cross_entropy",
        "mean over the batch",
        """
def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y]).mean()
""",
        expect="mean over the batch",
    ),
    Variant(
        "cross_entropy",
        "indexes y_hat[:, y]",
        """
def cross_entropy(y_hat, y):
    return -torch.log(y_hat[:, y])
""",
        expect="y_hat[:, y]",
    ),
    Variant(
        "cross_entropy",
        "one-hot mask times log(y_hat)",
        """
def cross_entropy(y_hat, y):
    one_hot = torch.nn.functional.one_hot(y, y_hat.shape[1]).to(y_hat.dtype)
    return -(one_hot * torch.log(y_hat)).sum(dim=1)
""",
        expect="one-hot mask",
    ),
    Variant(
        "cross_entropy",
        "forgets the minus sign",
        """
def cross_entropy(y_hat, y):
    return torch.log(y_hat[range(len(y_hat)), y])
""",
        expect="minus sign",
    ),
    Variant(
        "cross_entropy",
        "gather without squeeze",
        """
def cross_entropy(y_hat, y):
    return -torch.log(y_hat.gather(1, y.unsqueeze(1)))
""",
        expect="(batch, 1)",
    ),
    Variant(
        "cross_entropy",
        "calls nll_loss",
        """
def cross_entropy(y_hat, y):
    return torch.nn.functional.nll_loss(torch.log(y_hat), y, reduction="none")
""",
        expect="the source calls torch.nn.functional.nll_loss",
    ),
    Variant(
        "cross_entropy",
        "computes in float32 whatever the input",
        # Its gradient is drawn in float32 too: the gradient check must stop at the dtype,
        # before it asks the answer key for a gradient the reference was never given.
        """
def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y].float())
""",
        expect="expected dtype torch.float64, got torch.float32",
    ),
    # -- accuracy -------------------------------------------------------------------------
    Variant(
        "accuracy",
        "returns a tensor",
        """
def accuracy(y_hat, y):
    return (y_hat.argmax(dim=1) == y).float().mean()
""",
        expect="expected a Python float, got a tensor",
    ),
    Variant(
        "accuracy",
        "compares y_hat without argmax",
        """
def accuracy(y_hat, y):
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum()) / len(y)
""",
        expect="instead of each row's argmax",
    ),
    Variant(
        "accuracy",
        "argmax over dim 0",
        """
def accuracy(y_hat, y):
    return float((y_hat.argmax(dim=0) == y).sum()) / len(y)
""",
        expect="argmax over dim 0",
    ),
    Variant(
        "accuracy",
        "the book's count",
        """
def accuracy(y_hat, y):
    y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())
""",
        expect="number of correct predictions",
    ),
    # -- net ------------------------------------------------------------------------------
    Variant(
        "net",
        "no reshape",
        """
def net(X, W, b):
    return softmax(torch.matmul(X, W) + b)
""",
        expect="flatten each to a row first",
        options=NO_TRAINING,
    ),
    Variant(
        "net",
        "hard-coded 784 inputs",
        """
def net(X, W, b):
    return softmax(torch.matmul(X.reshape((-1, 784)), W) + b)
""",
        expect="not a fixed 784",
        options=NO_TRAINING,
    ),
    # With training on: b then gets no gradient, which the training loop must survive
    # (the model still learns; only the unit checks can name this mistake).
    Variant(
        "net",
        "bias forgotten",
        """
def net(X, W, b):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W))
""",
        expect="bias left out",
    ),
    # Must fail training, not only the unit checks: the loss takes log of negative
    # numbers, becomes NaN and the model learns nothing.
    Variant(
        "net",
        "returns logits without softmax",
        """
def net(X, W, b):
    return torch.matmul(X.reshape((-1, W.shape[0])), W) + b
""",
        expect="did not learn well enough",
    ),
    # -- evaluate_accuracy ----------------------------------------------------------------
    Variant(
        "evaluate_accuracy",
        "averages per-batch accuracies",
        """
def evaluate_accuracy(net, data_iter):
    accs = [accuracy(net(X), y) for X, y in data_iter]
    return sum(accs) / len(accs)
""",
        expect="mean of the per-batch accuracies",
    ),
    Variant(
        "evaluate_accuracy",
        "assumes every batch is full",
        """
def evaluate_accuracy(net, data_iter):
    correct, batches, batch_size = 0.0, 0, None
    for X, y in data_iter:
        batch_size = batch_size or len(y)
        correct += float((net(X).argmax(dim=1) == y).sum())
        batches += 1
    return correct / (batches * batch_size)
""",
        expect="first batch's size",
    ),
    Variant(
        "evaluate_accuracy",
        "calls net.eval() on a function",
        """
def evaluate_accuracy(net, data_iter):
    net.eval()
    correct, total = 0.0, 0
    for X, y in data_iter:
        correct += accuracy(net(X), y) * len(y)
        total += len(y)
    return correct / total
""",
        expect="isinstance(net, torch.nn.Module)",
    ),
    Variant(
        "evaluate_accuracy",
        "returns a tensor",
        """
def evaluate_accuracy(net, data_iter):
    correct, total = torch.tensor(0.0), 0
    for X, y in data_iter:
        correct += (net(X).argmax(dim=1) == y).sum()
        total += y.numel()
    return correct / total
""",
        expect="Python float",
    ),
    # -- trivial answers: what they satisfy counts only alongside a right output ----------
    Variant(
        "softmax",
        "zeros shaped like X",
        """
def softmax(X):
    return torch.zeros_like(X)
""",
        expect="counts only once an output of softmax is right",
        options=NO_TRAINING,
    ),
    Variant(
        "softmax",
        "uniform rows, whatever the logits",
        """
def softmax(X):
    return torch.ones_like(X) / X.shape[1]
""",
        expect="counts only once an output of softmax is right",
        options=NO_TRAINING,
    ),
]

RIGHT = [
    Variant(
        "softmax",
        "via logsumexp",
        """
def softmax(X):
    return torch.exp(X - torch.logsumexp(X, dim=1, keepdim=True))
""",
    ),
    Variant(
        "softmax",
        "detached amax, last dim",
        """
def softmax(X):
    m = X.amax(dim=-1, keepdim=True).detach()
    e = (X - m).exp()
    return e / e.sum(dim=-1, keepdim=True)
""",
    ),
    Variant(
        "softmax",
        "reshape instead of keepdim",
        """
def softmax(X):
    e = torch.exp(X - X.max(1)[0].reshape(-1, 1))
    return e / e.sum(1).reshape(-1, 1)
""",
    ),
    Variant(
        "cross_entropy",
        "gather and squeeze",
        """
def cross_entropy(y_hat, y):
    return -torch.log(torch.gather(y_hat, 1, y.view(-1, 1))).squeeze(1)
""",
    ),
    Variant(
        "cross_entropy",
        "arange indexing",
        """
def cross_entropy(y_hat, y):
    return -y_hat[torch.arange(y_hat.shape[0]), y].log()
""",
    ),
    Variant(
        "accuracy",
        "mean and item",
        """
def accuracy(y_hat, y):
    return (y_hat.argmax(dim=1) == y).float().mean().item()
""",
    ),
    Variant(
        "accuracy",
        "sum over numel",
        """
def accuracy(y_hat, y):
    return torch.sum(torch.argmax(y_hat, 1) == y).item() / y.numel()
""",
    ),
    Variant(
        "net",
        "flatten and mm",
        """
def net(X, W, b):
    return softmax(torch.mm(torch.flatten(X, 1), W) + b)
""",
    ),
    # net has no forbidden routines: only softmax itself must be written from scratch.
    Variant(
        "net",
        "torch.softmax inside net",
        """
def net(X, W, b):
    return torch.softmax(X.reshape(-1, W.shape[0]) @ W + b, dim=1)
""",
        options=NO_TRAINING,
    ),
    Variant(
        "evaluate_accuracy",
        "the book's Accumulator, counting",
        """
def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = [0.0, 0.0]
    with torch.no_grad():
        for X, y in data_iter:
            metric[0] += float((net(X).argmax(axis=1).type(y.dtype) == y).sum())
            metric[1] += y.numel()
    return metric[0] / metric[1]
""",
    ),
    Variant(
        "evaluate_accuracy",
        "concatenated predictions",
        """
def evaluate_accuracy(net, data_iter):
    preds, labels = [], []
    for X, y in data_iter:
        preds.append(net(X).argmax(dim=1))
        labels.append(y)
    return (torch.cat(preds) == torch.cat(labels)).double().mean().item()
""",
    ),
]
