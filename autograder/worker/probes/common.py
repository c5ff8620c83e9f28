"""Probes every module can use."""

from __future__ import annotations

from contextlib import contextmanager

import torch

from . import describe_module


def describe(student, handle):
    """Structure of a module built by the student (parameters, buffers, children)."""
    return describe_module(handle)


@contextmanager
def one_thread(on):
    """Train on one CPU thread: as fast on an idle two-core machine, and far faster on a
    busy one (or with several graders side by side), where threads spin against each other."""
    before = torch.get_num_threads()
    if str(on).startswith("cpu"):
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_images(train_images, train_labels, test_images, on):
    """uint8 images scaled to [0, 1] as ``ToTensor`` does, shaped (n, 1, 28, 28), on ``on``."""
    features = train_images.to(on).float().div(255).unsqueeze(1)
    return features, train_labels.to(on), test_images.to(on).float().div(255).unsqueeze(1)


def backward_or_why(out, leaves, output_grad):
    """Gradients of ``(out * output_grad).sum()`` with respect to ``leaves``, or why not."""
    if not isinstance(out, torch.Tensor):
        return {"error": f"the output is a {type(out).__name__}, not a tensor"}
    if tuple(out.shape) != tuple(output_grad.shape):
        return {"error": f"the output has shape {tuple(out.shape)}, expected {tuple(output_grad.shape)}"}
    if not out.requires_grad:
        return {
            "error": "the output does not depend on the parameters through autograd (it "
            "has no grad_fn: look for .detach(), .data, .item(), numpy or torch.no_grad() "
            "on the way)"
        }
    grads = torch.autograd.grad(out, leaves, output_grad.to(out.dtype), allow_unused=True)
    return {"grads": list(grads)}


class SGD:
    """``torch.optim.SGD(params, lr)`` as the book's loops use it (no momentum, no weight
    decay), with the same arithmetic step for step: ``step`` adds ``-lr`` times each
    gradient in place, as torch's own foreach step does (on CPU an ``add_`` per parameter,
    as its default step there), and ``zero_grad`` sets the gradients to None, as its
    default does (tests/test_training_harness.py compares the two bit for bit).

    Not torch's class: building any torch.optim optimizer imports ``torch._dynamo`` (2-9 s
    of CPU), which every submission's fork server would then import before its first fork.
    It now does only for a submission that uses such a thing itself (static.uses_dynamo).
    """

    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = float(lr)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        with_grad = [p for p in self.params if p.grad is not None]
        if with_grad:
            torch._foreach_add_(with_grad, [p.grad for p in with_grad], alpha=-self.lr)
