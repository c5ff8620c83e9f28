"""Probes for batch normalisation (section 7.5) that the generic network operations
(worker/probes/networks.py) cannot express: batch_norm's autograd history, and a BatchNorm
layer's state, steps and round trips. When batch_norm is not the student's in a check, the
worker's stand-in is already in the student's module.

Everything here returns plain tensors, numbers, strings and lists: the judge compares.
"""

from __future__ import annotations

import torch

# -- BatchNorm as a layer -----------------------------------------------------------------


def _tensor_facts(t):
    if not isinstance(t, torch.Tensor):
        return None
    return {
        "requires_grad": bool(t.requires_grad),
        "grad_fn": t.grad_fn is not None,
        "dtype": str(t.dtype).replace("torch.", ""),
        "device": str(t.device),
    }


def history(student, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    """Call the student's batch_norm in training mode with X, gamma and beta requiring
    grad; the results come back with their autograd facts (the judge's ``meta_of``)."""
    X = X.clone().requires_grad_(True)
    gamma = gamma.clone().requires_grad_(True)
    beta = beta.clone().requires_grad_(True)
    out = student.batch_norm(True, X, gamma, beta, moving_mean, moving_var, eps, momentum)
    if not isinstance(out, tuple) or len(out) != 3:
        return {"error": f"batch_norm returned a {type(out).__name__}, not a triple"}
    return {"Y": out[0], "moving_mean": out[1], "moving_var": out[2]}


def layer_state(student, num_features, num_dims):
    """Parameters, buffers and state_dict of a freshly built BatchNorm."""
    layer = student.BatchNorm(num_features, num_dims)
    return {
        "parameters": {n: p.detach().clone() for n, p in layer.named_parameters()},
        "buffers": {n: b.clone() for n, b in layer.named_buffers()},
        "attributes": {
            n: _tensor_facts(getattr(layer, n, None)) for n in ("gamma", "beta", "moving_mean", "moving_var")
        },
        "kinds": {n: type(getattr(layer, n, None)).__name__ for n in ("gamma", "beta", "moving_mean", "moving_var")},
    }


def _set(layer, name, value):
    """Give a BatchNorm's parameter, buffer or plain attribute a value, in place."""
    current = getattr(layer, name, None)
    if isinstance(current, torch.Tensor) and tuple(current.shape) == tuple(value.shape):
        with torch.no_grad():
            current.copy_(value.to(current.dtype))
    else:
        setattr(layer, name, value)


def layer_steps(student, num_features, num_dims, values, inputs, train, dtype="float32"):
    """Build a BatchNorm, set its values, and run it on each input in turn, in training
    mode (with autograd) or in evaluation mode (under no_grad, as the book evaluates).
    Returns each output and the moving statistics after each step."""
    layer = student.BatchNorm(num_features, num_dims)
    layer.to(device=inputs[0].device, dtype=getattr(torch, dtype))
    for name, value in values.items():
        _set(layer, name, value)
    layer.train(bool(train))
    steps = []
    for X in inputs:
        if train:
            Y = layer(X)
        else:
            with torch.no_grad():
                Y = layer(X)
        mm, mv = getattr(layer, "moving_mean", None), getattr(layer, "moving_var", None)
        steps.append(
            {
                "Y": Y.detach() if isinstance(Y, torch.Tensor) else None,
                "moving_mean": mm.detach().clone() if isinstance(mm, torch.Tensor) else None,
                "moving_var": mv.detach().clone() if isinstance(mv, torch.Tensor) else None,
                "buffers": sorted(n for n, _ in layer.named_buffers()),
            }
        )
    return steps


def round_trip(student, num_features, num_dims, X, device=None):
    """state_dict() into a fresh layer, .to(float64) and .to(device): what survives."""
    facts = {}
    X = X.cpu()
    layer = student.BatchNorm(num_features, num_dims)
    layer.train()
    layer(X)  # moves the statistics away from their initial values
    state = {k: v.clone() for k, v in layer.state_dict().items()}
    facts["state_keys"] = sorted(state)
    fresh = student.BatchNorm(num_features, num_dims)
    try:
        fresh.load_state_dict(state)
        facts["reloaded"] = {
            n: getattr(fresh, n).detach().clone()
            for n in ("gamma", "beta", "moving_mean", "moving_var")
            if isinstance(getattr(fresh, n, None), torch.Tensor)
        }
    except Exception as exc:  # noqa: BLE001 - reported to the judge as data
        facts["reload_error"] = f"{type(exc).__name__}: {exc}"[:500]
    facts["trained"] = {
        n: getattr(layer, n).detach().clone()
        for n in ("gamma", "beta", "moving_mean", "moving_var")
        if isinstance(getattr(layer, n, None), torch.Tensor)
    }
    layer.to(torch.float64)
    facts["float64"] = {
        n: _tensor_facts(getattr(layer, n, None)) for n in ("gamma", "beta", "moving_mean", "moving_var")
    }
    layer.eval()
    with torch.no_grad():
        facts["float64_output"] = _tensor_facts(layer(X.double()))
    if device and device != "cpu":
        layer.to(device)
        facts["device"] = {
            n: _tensor_facts(getattr(layer, n, None)) for n in ("gamma", "beta", "moving_mean", "moving_var")
        }
        layer.train()
        layer(X.double().to(device))  # a training step on the device moves the statistics
        facts["device_after"] = {n: _tensor_facts(getattr(layer, n, None)) for n in ("moving_mean", "moving_var")}
    return facts


# -- lenet_bn's two poolings --------------------------------------------------------------


def swap_pooling(net, pool):
    """``net`` with its 2x2 pooling layers replaced by ``pool``'s (``"AvgPool2d"``, say)."""
    for name, layer in list(net.named_children()):
        kind = type(layer).__name__
        if "Pool" in kind and kind != pool:
            setattr(net, name, getattr(torch.nn, pool)(kernel_size=2, stride=2))
    return net


def lenet_pooled(student, pool, seed):
    """The student's lenet_bn built under ``seed``, pooling by ``pool``. An answer key is
    built on the solution, which pools one way; this is the solution pooling the other
    accepted way, compared while the key is built so that the key holds its values too."""
    torch.manual_seed(int(seed))
    return swap_pooling(student.lenet_bn(), pool)
