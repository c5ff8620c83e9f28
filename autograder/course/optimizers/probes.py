"""Probes for the optimisers: many steps in a row, and the book's airfoil training.

``trajectory`` runs an optimiser for N steps the way a training loop does: it sets each
parameter's ``.grad`` (from a gradient sequence the judge sends, or from a fixed
quadratic objective), calls the student's optimiser with the same ``params``, ``states``
and ``hyperparams`` objects every step, and records what the contract promises: the
parameters after each step, the states, ``hyperparams['t']``, and whether the parameter
objects, their gradients and the state objects survived the call. The judge runs the
same probe on the reference (and on known mistakes) to compare with.
"""

from __future__ import annotations

import torch

# Which optimisers keep which state: None, one tensor, or a pair per parameter.
STATE_KIND = {
    "sgd": None,
    "sgd_momentum": "one",
    "adagrad": "one",
    "rmsprop": "one",
    "adadelta": "pair",
    "adam": "pair",
}
INIT = {
    "sgd_momentum": "init_momentum_states",
    "adagrad": "init_adagrad_states",
    "rmsprop": "init_rmsprop_states",
    "adadelta": "init_adadelta_states",
    "adam": "init_adam_states",
}


def fresh_states(name, params):
    """The contract's initial states: zeros of each parameter's shape, dtype and device, one
    tensor or a pair per parameter, each with its own memory.

    The harness makes them itself, from the parameters' shapes, rather than calling the
    student's ``init_*_states``: an optimiser's checks must not depend on (or cost the
    points of) the initialiser, which is graded on its own. Written from the contract, not
    taken from the solution, because this probe runs in the student's worker and ships in
    the student pack."""
    kind = STATE_KIND[name]
    if kind is None:
        return None
    per = 1 if kind == "one" else 2
    made = [tuple(torch.zeros(p.shape, dtype=p.dtype, device=p.device) for _ in range(per)) for p in params]
    return [s[0] for s in made] if per == 1 else made


def _state_tensors(states):
    """The state tensors in order (one or two per parameter), or [] for no state."""
    out = []
    for s in states or []:
        out += list(s) if isinstance(s, (tuple, list)) else [s]
    return out


def _grad(k, i, p, grads, objective):
    if grads is not None:
        return grads[i][k].clone()
    a, c = objective[0][i], objective[1][i]
    return a * (p.detach() - c)


def trajectory(student, name, init, hyperparams, steps, grads=None, objective=None):
    """Run ``student.<name>`` for ``steps`` steps from parameters ``init``.

    ``grads[i][k]`` is parameter i's gradient at step k; or, with ``objective = (a, c)``,
    the gradient of ``sum_i sum(a_i * (p_i - c_i)**2) / 2`` at the current parameters.
    """
    fn = getattr(student, name)
    params = [t.clone().requires_grad_(True) for t in init]
    plist = list(params)
    states = fresh_states(name, params)
    slist = list(states) if states is not None else None
    state_objects = _state_tensors(states)
    hp = dict(hyperparams)
    record = {
        "params": [[p.detach().clone()] for p in params],
        "states": [[] for _ in state_objects],
        "t": [hp.get("t")],
        "problem": None,
        "step": None,
    }
    for k in range(steps):
        for i, p in enumerate(params):
            p.grad = _grad(k, i, p, grads, objective)
        given = [p.grad.clone() for p in params]
        fn(plist, slist, hp)
        problem = None
        if any(a is not b for a, b in zip(plist, params)) or len(plist) != len(params):
            problem = "params replaced"
        elif slist is not None and (
            len(slist) != len(states) or any(a is not b for a, b in zip(_state_tensors(slist), state_objects))
        ):
            problem = "states replaced"
        elif any(not p.is_leaf or not p.requires_grad for p in params):
            problem = "not a leaf"
        elif any(
            p.grad is None or p.grad.shape != g.shape or not torch.equal(p.grad, g) for p, g in zip(params, given)
        ):
            problem = "grads changed"
        elif any(p.shape != t.shape or p.dtype != t.dtype for p, t in zip(params, init)):
            problem = "params reshaped"
        if problem:
            record["problem"], record["step"] = problem, k
            break
        for i, p in enumerate(params):
            record["params"][i].append(p.detach().clone())
        for i, s in enumerate(state_objects):
            record["states"][i].append(s.detach().clone())
        record["t"].append(hp.get("t"))
    record["params"] = [torch.stack(ps) for ps in record["params"]]
    record["states"] = [torch.stack(ss) if ss else None for ss in record["states"]]
    return record


def init_states(student, init_name, shapes, dtype_name):
    """Call ``student.<init_name>(params)`` and describe what came back, aliasing included."""
    dtype = getattr(torch, dtype_name)
    params = [torch.randn(s, dtype=dtype).requires_grad_(True) for s in shapes]
    out = getattr(student, init_name)(params)
    info = {"type": type(out).__name__, "entries": None, "aliases": [], "param_alias": False}
    if not isinstance(out, (list, tuple)):
        return info
    entries = []
    for e in out:
        if isinstance(e, torch.Tensor):
            entries.append({"kind": "tensor", "tensors": [e.detach()], "requires_grad": [e.requires_grad]})
        elif isinstance(e, (tuple, list)):
            ts = [t for t in e if isinstance(t, torch.Tensor)]
            entries.append(
                {
                    "kind": type(e).__name__,
                    "length": len(e),
                    "tensors": [t.detach() for t in ts],
                    "requires_grad": [t.requires_grad for t in ts],
                }
            )
        else:
            entries.append({"kind": type(e).__name__})
    info["entries"] = entries
    tensors = [
        t
        for e in out
        for t in (
            [e]
            if isinstance(e, torch.Tensor)
            else [x for x in e if isinstance(x, torch.Tensor)]
            if isinstance(e, (tuple, list))
            else []
        )
    ]
    ptrs = [(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()) for t in tensors]
    info["aliases"] = [
        [i, j] for i in range(len(ptrs)) for j in range(i + 1, len(ptrs)) if ptrs[i] == ptrs[j] and ptrs[i][1] > 0
    ]
    param_ptrs = {p.untyped_storage().data_ptr() for p in params}
    info["param_alias"] = any(p[0] in param_ptrs for p in ptrs)
    return info


# -- the book's airfoil run (train_ch11 with the optimiser in place of the loop's sgd) ---


def train_airfoil(student, name, features, labels, hyperparams, seed, num_epochs=2, batch_size=10, record_every=100):
    """Linear regression on airfoil with the student's ``name`` optimiser.

    The book's harness: ``w ~ N(0, 0.01)`` of shape (5, 1), ``b = 0``, squared loss
    averaged over the minibatch, batches of 10 in a seeded random order, 2 epochs; the
    loss on all examples is recorded at the start and every ``record_every`` examples.
    The state comes from ``init_*_states`` (the worker's stand-in where the student's is not
    used in the check).
    """
    fn = getattr(student, name)
    g = torch.Generator().manual_seed(seed)
    w = torch.normal(0.0, 0.01, size=(features.shape[1], 1), generator=g)
    w = w.to(features).requires_grad_(True)
    b = torch.zeros(1, dtype=features.dtype, device=features.device, requires_grad=True)
    params = [w, b]
    states = getattr(student, INIT[name])(params) if name in INIT else None
    hp = dict(hyperparams)

    def loss_all():
        with torch.no_grad():
            return float(((features @ w + b - labels.reshape(-1, 1)) ** 2 / 2).mean())

    losses, seen = [loss_all()], 0
    n = len(features)
    for _ in range(num_epochs):
        # Batches of batch_size (the last one smaller) in a seeded random order. Not the
        # solution's data_iter (linear regression): this probe ships in the student pack.
        order = torch.randperm(n, generator=g).to(features.device)
        for idx in order.split(batch_size):
            loss = ((features[idx] @ w + b - labels[idx].reshape(-1, 1)) ** 2 / 2).mean()
            for p in params:
                if p.grad is not None:
                    p.grad.zero_()
            loss.backward()
            fn(params, states, hp)
            seen += len(idx)
            if seen % record_every == 0:
                losses.append(loss_all())
    return {"losses": losses, "w": w.detach().reshape(-1), "b": float(b.detach().reshape(-1)[0])}
