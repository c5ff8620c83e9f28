"""Judge-side helpers for the network checks (batch_norm, resnet, densenet): building a
student's network in the worker, loading the reference's weights into it and comparing
outputs and gradients, and training thresholds against the reference's run.
"""

from __future__ import annotations

import hashlib
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from .. import plots
from ..worker.protocol import Handle
from ..worker.records import Loaded, ModuleInfo, TrainingRun
from . import expect as E
from . import image_data
from .context import Ctx
from .image_data import Budget


def network_handle(ctx: Ctx, stub: str, args=(), kwargs=None) -> Handle:
    """``stub(*args, **kwargs)`` built in the worker (whose stand-ins replace the pieces
    that are not the student's in this check)."""
    value = ctx.run(None, stub, list(args), kwargs or {}, ctx.seed, probe="networks.build", keep=True).value
    shown = [*map(repr, args), *(f"{k}={v!r}" for k, v in (kwargs or {}).items())]
    call = f"{stub}({', '.join(shown)})"
    if not isinstance(value, Handle) or value.type_name in ("NoneType", "list", "tuple"):
        E.fail(
            f"{call} should build an nn.Module, but returned {E.describe(value)}"
            f"{' (did it forget to return?)' if value is None else ''}."
        )
    return value


def leaf_types(info: ModuleInfo) -> list[str]:
    """Types of the modules without children, in registration order (nesting ignored)."""
    names = [m.name for m in info.modules]
    return [m.type for m in info.modules if not any(other.startswith(m.name + ".") for other in names)]


# -- the reference network's weights, drawn from its layout ---------------------------------
# A network check loads "the reference's weights" into the student's network. They are not
# the reference's initialisation but values drawn from the network's *layout* (each tensor's
# name, shape and role) and the check's seed, so that a student pack, which has no reference
# to build, draws the very same weights from the layout the answer key records. Weights and
# biases are uniform in +-1/sqrt(fan_in) (PyTorch's default initialisation, so the network
# behaves as a freshly built one); batch-norm scales, shifts and statistics are moved away
# from 1 and 0, so that every one of them matters.
_BN_ROLES = {
    "weight": "bn_scale",
    "bias": "bn_shift",
    "running_mean": "bn_mean",
    "running_var": "bn_var",
    "gamma": "bn_scale",
    "beta": "bn_shift",
    "moving_mean": "bn_mean",
    "moving_var": "bn_var",
}


def layout(module: nn.Module) -> list[list]:
    """``[name, shape, dtype, role, fan_in]`` for every tensor of ``module``'s state."""
    out = []
    for prefix, m in module.named_modules():
        batch_norm = isinstance(m, nn.modules.batchnorm._BatchNorm) or type(m).__name__ == "BatchNorm"
        weight = getattr(m, "weight", None)
        fan_in = math.prod(weight.shape[1:]) if isinstance(weight, torch.Tensor) and weight.dim() >= 2 else 0
        own = list(m.named_parameters(recurse=False)) + list(m.named_buffers(recurse=False))
        for name, t in own:
            if t is None:
                continue
            full = f"{prefix}.{name}" if prefix else name
            if not t.is_floating_point():
                role = "keep"
            elif batch_norm and name in _BN_ROLES:
                role = _BN_ROLES[name]
            else:
                role = "uniform"
            out.append(
                [
                    full,
                    list(t.shape),
                    str(t.dtype).replace("torch.", ""),
                    role,
                    fan_in or (t.shape[-1] if t.dim() else 1),
                ]
            )
    return out


def drawn_state(tensors: list[list], seed: int) -> dict[str, torch.Tensor]:
    """The weights for a layout (see above); each tensor from a generator of its own (the
    seed and its name), so the draw does not depend on the order of the layout."""
    state = {}
    for name, shape, dtype, role, fan_in in tensors:
        g = torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:6], "big"))
        if role == "keep":
            state[name] = torch.zeros(shape, dtype=getattr(torch, dtype))
            continue
        if role == "bn_scale":
            t = 1 + 0.3 * torch.randn(shape, generator=g)
        elif role in ("bn_shift", "bn_mean"):
            t = 0.3 * torch.randn(shape, generator=g)
        elif role == "bn_var":
            t = 0.5 + torch.rand(shape, generator=g)
        else:
            bound = 1 / math.sqrt(max(int(fan_in), 1))
            t = (torch.rand(shape, generator=g) * 2 - 1) * bound
        state[name] = t.to(getattr(torch, dtype))
    return state


def reference_network(ref: types.ModuleType, build: Callable, seed: int) -> nn.Module:
    """``build(ref)`` with the drawn weights of its layout, in float64: the network every
    comparison (and every known mistake built from it) uses. Runs where the solutions are."""
    torch.manual_seed(seed)
    net = build(ref)
    net.load_state_dict(drawn_state(layout(net), seed))
    return net.double()


def _reference_forward(ref, build, seed: int, X: torch.Tensor) -> dict:
    net = reference_network(ref, build, seed)
    net.eval()
    with torch.no_grad():
        evaluated = net(X)
    net.train()
    with torch.no_grad():
        trained = net(X)
    return {"layout": layout(net), "eval": evaluated, "train": trained}


def _reference_backward(ref, build, seed: int, X: torch.Tensor, g: torch.Tensor, param_grads: bool) -> dict:
    net = reference_network(ref, build, seed)
    net.train()
    Xl = X.clone().requires_grad_(True)
    out = net(Xl)
    params = list(net.named_parameters()) if param_grads else []
    grads = torch.autograd.grad(out, [Xl] + [p for _, p in params], g.to(out.dtype), allow_unused=True)
    return {"input": grads[0], "params": [[n, gr] for (n, _), gr in zip(params, grads[1:])]}


def load_reference(ctx: Ctx, handle: Handle, state: dict, what: str, names_hint: str = "") -> Loaded:
    """Load the reference's weights (``state``) into the student's module (float64), or fail
    saying how the two differ."""
    # The weights were drawn in float32 (and made float64 only for the comparison), so
    # sending them as float32 is exact and halves what crosses the wire.
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    info = ctx.probe("networks.load", handle, state, "float64")
    E.that(isinstance(info, Loaded), f"Loading the reference's weights into {what} returned {E.describe(info)}.")
    if info.how != "failed":
        return info
    detail = []
    if info.missing:
        detail.append(f"missing: {', '.join(info.missing[:8])}")
    if info.unexpected:
        detail.append(f"not in the reference: {', '.join(info.unexpected[:8])}")
    detail += info.problems[:4]
    E.fail(
        f"The reference's weights do not fit your {what}: {'; '.join(detail)}. Its layers "
        f"(their kinds, sizes or order) differ from the contract's.{names_hint}"
    )


def compare_network(
    ctx: Ctx,
    handle: Handle,
    build: Callable[[types.ModuleType], nn.Module],
    X: torch.Tensor,
    what: str,
    mistakes=None,
    names_hint: str = "",
    param_grads: bool = True,
) -> None:
    """Load the reference's weights into the student's network and compare the outputs in
    evaluation mode, and the outputs and the gradients in training mode, in float64.

    ``build(ref)`` makes the reference network from the reference module (its weights are
    drawn from its layout: :func:`reference_network`); the reference's outputs and
    gradients are values (``ctx.expected``). ``mistakes(train)`` lists the known wrong
    outputs for a mode. Without ``param_grads`` only the gradient with respect to the input
    is compared (it depends on every layer too), which spares a big network's gradients.
    """
    X = X.double()
    want = ctx.expected(_reference_forward, build, ctx.seed, X)
    loaded = load_reference(ctx, handle, drawn_state(want["layout"], ctx.seed), what, names_hint)
    info = ctx.describe(handle)
    frozen = [p.name for p in info.parameters if not p.requires_grad]
    E.that(
        not frozen,
        f"Parameters of {what} do not require grad ({', '.join(frozen[:5])}): training would never change them.",
    )
    got = ctx.probe("networks.forward", handle, X, False)
    E.close(
        got,
        want["eval"],
        f"the output of {what} in evaluation mode (with the reference's weights)",
        mistakes=mistakes(False) if mistakes else (),
    )
    ctx.probe("networks.set_mode", handle, True, X)
    result = ctx.run(None, X, handle=handle, grad_inputs=(0,), grad_module=handle if param_grads else None)
    E.close(
        result.value,
        want["train"],
        f"the output of {what} in training mode (with the reference's weights)",
        mistakes=mistakes(True) if mistakes else (),
    )
    E.that("error" not in result.grads, lambda: f"{what}: {result.grads['error']}.")
    grads = ctx.expected(_reference_backward, build, ctx.seed, X, result.grads["output_grad"], param_grads)
    E.that(result.grads["inputs"][0] is not None, f"No gradient reached the input of {what}.")
    E.close(
        result.grads["inputs"][0],
        grads["input"],
        f"the gradient of {what}'s output with respect to its input",
        check_dtype=False,
    )
    if not param_grads:
        return
    mine = list(result.grads["params"].items())
    ref_params = grads["params"]
    E.that(len(mine) == len(ref_params), f"{what} has {len(mine)} parameters; the reference has {len(ref_params)}.")
    wanted = [gr for _, gr in ref_params]
    if loaded.how == "names":  # the same names, maybe registered in another order
        by_name = {n: gr for n, gr in ref_params}
        E.that(
            set(by_name) == {n for n, _ in mine},
            f"{what}'s parameters are {sorted(n for n, _ in mine)}; the reference's are {sorted(by_name)}.",
        )
        wanted = [by_name[n] for n, _ in mine]
    for (name, got_g), want_g in zip(mine, wanted):
        E.that(got_g is not None, f"No gradient reached {name} of {what}: it does not take part in the output.")
        E.close(
            got_g,
            torch.zeros_like(got_g) if want_g is None else want_g,
            f"the gradient of {name} of {what}",
            check_dtype=False,
        )


# How far below the reference's best test accuracy a student's best may be. A network
# that differs from the reference only in rounding follows another trajectory; on the short
# CPU budgets (a few hundred images, a few epochs) best accuracies then spread by about
# +-0.06 (measured over seeds), on the longer CUDA budgets by about +-0.02.
MARGINS = {("fashion-mnist", "cuda"): 0.05}
DEFAULT_MARGIN = 0.15
TRAINS = "trains: test accuracy close to the reference's under the same seed and budget"


@dataclass(frozen=True)
class TrainingThreshold:
    """One network's training check, declared: the student's ``stub()`` and the reference
    trained by the book's loop under the check's seed and the device's budget; it passes
    when its best test accuracy is within a margin of the reference's and above the floor
    for the dataset and device (accuracy swings between epochs, so the best one counts).

    The stub and the title name the check and seed it: changing either changes every
    student's inputs, so they stay as they were first published.
    """

    stub: str
    uses: tuple[str, ...]  # the stubs the network is built from, its own among them
    name: str  # what the feedback calls the network
    cpu: Budget
    cuda: Budget
    # (dataset, "cpu" | "cuda") -> the least best accuracy; "cuda" only for Fashion-MNIST
    floors: Mapping[tuple[str, str], float]
    lr: float
    lr_cuda: float | None = None  # when CUDA's budget wants another rate
    resize_cpu: int = 0  # square side the images are resized to; 0 keeps 28x28
    resize_cuda: int = 0
    # How to make the module trained as the reference from the solution, given the check's
    # context (another right network, built like the student's, where the contract allows
    # several): ctx -> (solution module -> module); None trains the solution itself.
    reference: Callable[[Ctx], Callable[[types.ModuleType], types.ModuleType]] | None = None
    # Every other right reference ``reference`` may choose (the same derive functions): while
    # the answer key is built, each is trained too, so that the key holds the run a student
    # who chose it is compared with.
    also: Callable[[], list[Callable[[types.ModuleType], types.ModuleType]]] | None = None
    title: str = TRAINS
    weight: float = 2.0

    def on(self, device: str, dataset: str) -> tuple[Budget, float, int, tuple[str, str]]:
        """The budget, learning rate and image side for ``device`` and ``dataset``, and the
        key of its floor and margin. The CUDA budget is Fashion-MNIST's: the digits
        fallback (1497 images) gets the CPU budget everywhere, already quick and measured."""
        if device.startswith("cuda") and dataset == "fashion-mnist":
            lr = self.lr if self.lr_cuda is None else self.lr_cuda
            return self.cuda, lr, self.resize_cuda, (dataset, "cuda")
        return self.cpu, self.lr, self.resize_cpu, (dataset, "cpu")


def training_check(check, spec: TrainingThreshold) -> TrainingThreshold:
    """Register ``spec`` with a module's ``check`` decorator (``checks_for(module)``);
    returns it, for the module to keep under a name."""

    def run(ctx: Ctx) -> None:
        training_threshold(ctx, spec)

    run.__name__ = run.__qualname__ = f"{spec.stub}_training"
    check(spec.stub, spec.title, weight=spec.weight, kind="training", uses=spec.uses)(run)
    return spec


def training_threshold(ctx: Ctx, spec: TrainingThreshold) -> None:
    """Train the student's network and the reference under the same seed and budget, and
    judge the student's best test accuracy (see :class:`TrainingThreshold`)."""
    data = image_data.load(ctx)
    budget, lr, resize, where = spec.on(ctx.device, data.name)
    on_gpu = ctx.device.startswith("cuda")
    if not on_gpu:
        image_data.note_cpu_budget(ctx, budget, spec.on("cuda", data.name)[0])
    derive = spec.reference(ctx) if spec.reference else None
    tensors = image_data.subset(data, budget, seed=ctx.seed)
    settings = dict(lr=lr, epochs=budget.epochs, batch_size=budget.batch_size, resize=resize, on=ctx.device)
    student = ctx.probe("networks.train", spec.stub, ctx.seed, *tensors, timeout=290 if on_gpu else 120, **settings)
    reference = ctx.reference_probe("networks.train", spec.stub, ctx.seed, *tensors, derive=derive, **settings)
    if ctx.key_mode == "record" and spec.also:
        for other in spec.also():
            ctx.reference_probe("networks.train", spec.stub, ctx.seed, *tensors, derive=other, **settings)
    E.that(
        isinstance(student, TrainingRun) and isinstance(student.acc, list),
        f"The training run returned {E.describe(student)}.",
    )
    accs = [E.number(a, "a test accuracy") for a in student.acc]
    plots.attach(
        ctx,
        f"{ctx.check.stub_id}.training.png",
        lambda: plots.epoch_curves(
            {"test accuracy": accs, "training loss": list(student.loss or [])},
            {"test accuracy": list(reference.acc), "training loss": list(reference.loss or [])},
            f"{spec.name} on {data.name}, {budget.epochs} epochs",
        ),
    )
    ref_best = max(reference.acc)
    best = max(accs) if accs else 0.0
    floor = spec.floors[where]
    margin = MARGINS.get(where, DEFAULT_MARGIN)
    pieces = ", ".join(sorted(ctx.students))
    ctx.summary = (
        f"{spec.name} on {data.name} ({budget.describe()}"
        f"{f', resized to {resize}x{resize}' if resize else ''}, lr {lr}): best test "
        f"accuracy {best:.3f} (per epoch {', '.join(f'{a:.3f}' for a in accs)}); "
        f"reference {ref_best:.3f}; your pieces used: {pieces}"
        f"{'' if ctx.key_mode == 'replay' else ', stand-ins for the rest'}"
    )
    losses = student.loss
    if losses and not all(math.isfinite(v) for v in losses):
        E.fail(f"Training diverged (the loss became {losses[-1]}): {ctx.summary}.")
    E.that(
        best >= ref_best - margin and best >= floor,
        f"The network did not learn well enough: its best test accuracy should be at least "
        f"{max(ref_best - margin, floor):.3f} (the reference's {ref_best:.3f} minus "
        f"{margin}, and at least {floor} on {data.name}). {ctx.summary}.",
    )
