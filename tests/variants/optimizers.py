"""Variants of the optimiser stubs."""

from .harness import Variant

WRONG = [
    Variant(
        "sgd",
        "gradient ascent",
        """
def sgd(params, states, hyperparams):
    with torch.no_grad():
        for p in params:
            p += hyperparams['lr'] * p.grad
""",
        expect="gradient ascent",
    ),
    Variant(
        "sgd",
        "zeroes the gradients as the second edition does",
        """
def sgd(params, states, hyperparams):
    for p in params:
        p.data.sub_(hyperparams['lr'] * p.grad)
        p.grad.data.zero_()
""",
        expect="zeroing",
    ),
    Variant(
        "sgd",
        "rebinds the loop variable",
        """
def sgd(params, states, hyperparams):
    with torch.no_grad():
        for p in params:
            p = p - hyperparams['lr'] * p.grad
""",
        expect="rebinds the loop variable",
    ),
    Variant(
        "sgd",
        "puts new tensors into the list",
        """
def sgd(params, states, hyperparams):
    with torch.no_grad():
        for i, p in enumerate(params):
            params[i] = p - hyperparams['lr'] * p.grad
""",
        expect="holds different tensor objects",
    ),
    Variant(
        "sgd_momentum",
        "velocity without the learning rate",
        """
def sgd_momentum(params, states, hyperparams):
    with torch.no_grad():
        for p, v in zip(params, states):
            v[:] = hyperparams['momentum'] * v + p.grad
            p -= v
""",
        expect="momentum without the learning rate",
    ),
    Variant(
        "sgd_momentum",
        "the second edition's v = momentum * v + g, p -= lr * v",
        """
def sgd_momentum(params, states, hyperparams):
    for p, v in zip(params, states):
        with torch.no_grad():
            v[:] = hyperparams['momentum'] * v + p.grad
            p[:] -= hyperparams['lr'] * v
""",
        expect="second edition",
    ),
    Variant(
        "adagrad",
        "eps outside the square root",
        """
def adagrad(params, states, hyperparams):
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] += p.grad ** 2
            p -= hyperparams['lr'] * p.grad / (torch.sqrt(s) + 1e-6)
""",
        expect="eps outside the square root",
    ),
    Variant(
        "adagrad",
        "state rebound: s = s + g**2",
        """
def adagrad(params, states, hyperparams):
    with torch.no_grad():
        for p, s in zip(params, states):
            s = s + p.grad ** 2
            p -= hyperparams['lr'] * p.grad / torch.sqrt(s + 1e-6)
""",
        expect="rebinds the local name",
    ),
    Variant(
        "rmsprop",
        "beta on the wrong term",
        """
def rmsprop(params, states, hyperparams):
    beta = hyperparams['beta']
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] = (1 - beta) * s + beta * p.grad ** 2
            p -= hyperparams['lr'] * p.grad / torch.sqrt(s + 1e-6)
""",
        expect="beta on the wrong term",
    ),
    Variant(
        "rmsprop",
        "the book's hyperparams['gamma']",
        """
def rmsprop(params, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-6
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] = gamma * s + (1 - gamma) * p.grad ** 2
            p -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
""",
        expect="this curriculum calls it beta",
    ),
    Variant(
        "adadelta",
        "delta from the raw gradient",
        """
def adadelta(params, states, hyperparams):
    rho, eps = hyperparams['rho'], 1e-5
    with torch.no_grad():
        for p, (s, delta) in zip(params, states):
            s[:] = rho * s + (1 - rho) * p.grad ** 2
            g = p.grad * torch.sqrt((delta + eps) / (s + eps))
            p -= g
            delta[:] = rho * delta + (1 - rho) * p.grad ** 2
""",
        expect="raw gradient",
    ),
    Variant(
        "adam",
        "no bias correction",
        """
def adam(params, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    with torch.no_grad():
        for p, (v, s) in zip(params, states):
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * p.grad ** 2
            p -= hyperparams['lr'] * v / (torch.sqrt(s) + eps)
    hyperparams['t'] += 1
""",
        expect="without bias correction",
    ),
    Variant(
        "adam",
        "eps inside the square root",
        """
def adam(params, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    with torch.no_grad():
        for p, (v, s) in zip(params, states):
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * p.grad ** 2
            v_hat = v / (1 - beta1 ** hyperparams['t'])
            s_hat = s / (1 - beta2 ** hyperparams['t'])
            p -= hyperparams['lr'] * v_hat / torch.sqrt(s_hat + eps)
    hyperparams['t'] += 1
""",
        expect="eps inside the square root",
    ),
    Variant(
        "adam",
        "t incremented per parameter",
        """
def adam(params, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    with torch.no_grad():
        for p, (v, s) in zip(params, states):
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * p.grad ** 2
            v_hat = v / (1 - beta1 ** hyperparams['t'])
            s_hat = s / (1 - beta2 ** hyperparams['t'])
            p -= hyperparams['lr'] * v_hat / (torch.sqrt(s_hat) + eps)
            hyperparams['t'] += 1
""",
        expect="once per parameter",
    ),
    Variant(
        "adam",
        "states rebound",
        """
def adam(params, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    with torch.no_grad():
        for p, (v, s) in zip(params, states):
            v = beta1 * v + (1 - beta1) * p.grad
            s = beta2 * s + (1 - beta2) * p.grad ** 2
            v_hat = v / (1 - beta1 ** hyperparams['t'])
            s_hat = s / (1 - beta2 ** hyperparams['t'])
            p -= hyperparams['lr'] * v_hat / (torch.sqrt(s_hat) + eps)
    hyperparams['t'] += 1
""",
        expect="rebinds the local name",
    ),
    Variant(
        "adam",
        "calls torch.optim.Adam",
        """
def adam(params, states, hyperparams):
    opt = torch.optim.Adam(params, lr=hyperparams['lr'], eps=1e-6)
    for p, (v, s) in zip(params, states):
        opt.state[p] = {'step': torch.tensor(float(hyperparams['t'] - 1)),
                        'exp_avg': v, 'exp_avg_sq': s}
    opt.step()
    hyperparams['t'] += 1
""",
        expect="the source calls torch.optim.Adam",
    ),
    Variant(
        "init_adam_states",
        "one tensor for both halves of the pair",
        """
def init_adam_states(params):
    states = []
    for p in params:
        z = torch.zeros_like(p)
        states.append((z, z))
    return states
""",
        expect="one and the same tensor",
    ),
    Variant(
        "init_momentum_states",
        "a single tensor instead of a pair per parameter",
        """
def init_momentum_states(params):
    return [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
""",
        expect="expected a tensor of zeros",
    ),
    Variant(
        "init_adagrad_states",
        "ones instead of zeros, so the first root is not of zero",
        """
def init_adagrad_states(params):
    return [torch.ones_like(p) for p in params]
""",
        expect="the state starts at zero",
    ),
    Variant(
        "init_adagrad_states",
        "one accumulator shared by all parameters",
        """
def init_adagrad_states(params):
    s = torch.zeros_like(params[0])
    return [s for _ in params]
""",
        expect="one and the same tensor",
    ),
    Variant(
        "init_rmsprop_states",
        "a pair per parameter, copied from AdaDelta",
        """
def init_rmsprop_states(params):
    return [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
""",
        expect="expected a tensor of zeros shaped like the parameter, got a tuple",
    ),
    Variant(
        "init_rmsprop_states",
        "torch.zeros(p.shape): float32 whatever the parameter",
        """
def init_rmsprop_states(params):
    return [torch.zeros(p.shape) for p in params]
""",
        expect="fixed the precision at float32",
    ),
    Variant(
        "init_rmsprop_states",
        "a flat vector per parameter",
        """
def init_rmsprop_states(params):
    return [torch.zeros(p.numel(), dtype=p.dtype) for p in params]
""",
        expect="expected shape",
    ),
    Variant(
        "init_adadelta_states",
        "one tensor per parameter instead of the pair",
        """
def init_adadelta_states(params):
    return [torch.zeros_like(p) for p in params]
""",
        expect="expected a pair of tensors",
    ),
    Variant(
        "init_adadelta_states",
        "the same zeros for s and delta",
        """
def init_adadelta_states(params):
    states = []
    for p in params:
        zeros = torch.zeros_like(p)
        states.append((zeros, zeros))
    return states
""",
        expect="one and the same tensor",
    ),
    Variant(
        "init_adadelta_states",
        "s and delta stacked into one tensor",
        """
def init_adadelta_states(params):
    return [torch.zeros((2, *p.shape), dtype=p.dtype) for p in params]
""",
        expect="expected a pair of tensors",
    ),
]

RIGHT = [
    Variant(
        "sgd",
        "the first edition's .data form",
        """
def sgd(params, states, hyperparams):
    for p in params:
        p.data -= hyperparams['lr'] * p.grad.data
""",
    ),
    Variant(
        "sgd",
        "sub_ under no_grad",
        """
def sgd(params, states, hyperparams):
    with torch.no_grad():
        for p in params:
            p.sub_(hyperparams['lr'] * p.grad)
""",
    ),
    Variant(
        "sgd_momentum",
        "the first edition's .data form",
        """
def sgd_momentum(params, states, hyperparams):
    for p, v in zip(params, states):
        v.data = hyperparams['momentum'] * v.data + hyperparams['lr'] * p.grad.data
        p.data -= v.data
""",
    ),
    Variant(
        "adagrad",
        "add_ and addcdiv_",
        """
def adagrad(params, states, hyperparams):
    with torch.no_grad():
        for p, s in zip(params, states):
            s.add_(p.grad * p.grad)
            p.addcdiv_(p.grad, (s + 1e-6).sqrt(), value=-hyperparams['lr'])
""",
    ),
    Variant(
        "rmsprop",
        "mul_ and addcmul_",
        """
def rmsprop(params, states, hyperparams):
    beta = hyperparams['beta']
    with torch.no_grad():
        for p, s in zip(params, states):
            s.mul_(beta).addcmul_(p.grad, p.grad, value=1 - beta)
            p.sub_(hyperparams['lr'] * p.grad / torch.sqrt(s + 1e-6))
""",
    ),
    Variant(
        "adadelta",
        "the first edition's .data form",
        """
def adadelta(params, states, hyperparams):
    rho, eps = hyperparams['rho'], 1e-5
    for p, (s, delta) in zip(params, states):
        s[:] = rho * s + (1 - rho) * (p.grad.data ** 2)
        g = p.grad.data * torch.sqrt((delta + eps) / (s + eps))
        p.data -= g
        delta[:] = rho * delta + (1 - rho) * g * g
""",
    ),
    Variant(
        "adam",
        "the first edition's form",
        """
def adam(params, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s) in zip(params, states):
        v[:] = beta1 * v + (1 - beta1) * p.grad.data
        s[:] = beta2 * s + (1 - beta2) * p.grad.data ** 2
        v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
        s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
        p.data -= hyperparams['lr'] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
    hyperparams['t'] += 1
""",
    ),
    Variant(
        "init_adam_states",
        "lists of zeros of the parameter's shape",
        """
def init_adam_states(params):
    return [[torch.zeros(p.shape, dtype=p.dtype, device=p.device),
             torch.zeros(p.shape, dtype=p.dtype, device=p.device)] for p in params]
""",
    ),
    Variant(
        "init_momentum_states",
        "a tuple of new_zeros",
        """
def init_momentum_states(params):
    return tuple(p.new_zeros(p.shape) for p in params)
""",
    ),
    Variant(
        "init_adagrad_states",
        "a loop appending zeros of the parameter's shape and dtype",
        """
def init_adagrad_states(params):
    states = []
    for p in params:
        states.append(torch.zeros(p.shape, dtype=p.dtype, device=p.device))
    return states
""",
    ),
    Variant(
        "init_rmsprop_states",
        "zeros_like of the parameter's data",
        """
def init_rmsprop_states(params):
    return [torch.zeros_like(p.data) for p in params]
""",
    ),
    Variant(
        "init_adadelta_states",
        "a pair made by a generator",
        """
def init_adadelta_states(params):
    return [tuple(torch.zeros_like(p) for _ in range(2)) for p in params]
""",
    ),
]
