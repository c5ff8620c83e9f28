"""Pictures for feedback: the student's run drawn against the reference's.

Rendered in the judge from plain numbers (never from objects a worker sent), with
matplotlib's Agg canvas and the object-oriented API (no pyplot, so no global figure
state and no display needed). Figures are small (about 20-40 KB as PNG): they travel
base64-encoded in the results JSON.

The pictures follow the book's: ``show_trace`` (1-D iterates on the curve of f),
``show_trace_2d`` (a trajectory on the contours of ``x1**2 + 2 * x2**2``) and the loss
curves ``train_ch11`` draws.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence

STUDENT = "#d62728"  # red: yours
REFERENCE = "#1f77b4"  # blue: the reference
SIZE = (4.2, 3.0)
DPI = 80


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig) -> bytes:
    fig.tight_layout(pad=0.4)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _finite(values: Sequence[float], limit: float = 1e6) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v) and abs(v) < limit]


def trace_1d(f: Callable[[float], float], student: Sequence[float], reference: Sequence[float], title: str) -> bytes:
    """The book's show_trace: f's curve and the iterates on it, yours against the reference."""
    fig, ax = _figure()
    pts = _finite(list(student) + list(reference))
    hi = max([abs(v) for v in pts] + [1.0]) * 1.1
    n = 200
    xs = [-hi + 2 * hi * i / (n - 1) for i in range(n)]
    ax.plot(xs, [f(x) for x in xs], color="0.6", lw=1, label="f")
    ref = _finite(reference)
    ax.plot(ref, [f(x) for x in ref], "-o", color=REFERENCE, ms=3, lw=1, label="reference")
    mine = _finite(student)
    ax.plot(mine, [f(x) for x in mine], "--x", color=STUDENT, ms=4, lw=1, label="yours")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return _png(fig)


def trace_2d(
    student: Sequence[Sequence[float]],
    reference: Sequence[Sequence[float]],
    title: str,
    f: Callable[[float, float], float] | None = None,
) -> bytes:
    """The book's show_trace_2d on the contours of ``f`` (default x1**2 + 2 * x2**2)."""
    f = f or (lambda x1, x2: x1**2 + 2 * x2**2)
    fig, ax = _figure()
    grid = [-5.5 + 0.1 * i for i in range(111)]
    grid2 = [-3.0 + 0.1 * i for i in range(61)]
    z = [[f(x1, x2) for x1 in grid] for x2 in grid2]
    ax.contour(grid, grid2, z, levels=12, colors="0.75", linewidths=0.7)

    def xy(points):
        keep = [p for p in points if len(p) == 2 and len(_finite(p, 1e3)) == 2]
        return [p[0] for p in keep], [p[1] for p in keep]

    ax.plot(*xy(reference), "-o", color=REFERENCE, ms=3, lw=1, label="reference")
    ax.plot(*xy(student), "--x", color=STUDENT, ms=4, lw=1, label="yours")
    ax.set_xlim(-5.5, 5.5)
    ax.set_ylim(-3.0, 3.0)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return _png(fig)


def loss_curves(student: Sequence[float], reference: Sequence[float], title: str, per_epoch: int = 15) -> bytes:
    """Training loss against epochs, as train_ch11 draws it."""
    fig, ax = _figure()
    for values, color, style, label in ((reference, REFERENCE, "-", "reference"), (student, STUDENT, "--", "yours")):
        xs = [i / per_epoch for i in range(len(values))]
        keep = [(x, v) for x, v in zip(xs, values) if isinstance(v, (int, float)) and math.isfinite(v)]
        if keep:
            ax.plot([k[0] for k in keep], [k[1] for k in keep], style, color=color, lw=1.2, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    finite = _finite(list(reference) + list(student), 1e9)
    if finite and max(finite) > 10 * max(min(finite), 1e-3):
        ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return _png(fig)


def _panels(n: int, width: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, SIZE[1]), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, n, i + 1) for i in range(n)]


def channel_stats(
    student: tuple[Sequence[float], Sequence[float]], reference: tuple[Sequence[float], Sequence[float]], title: str
) -> bytes:
    """Per-channel mean and variance of a batch-normalised output: ``(means, variances)``
    of yours beside the reference's, as grouped bars (one pair per channel)."""
    fig, axes = _panels(2, 5.6)
    width = 0.38
    for ax, k, what in ((axes[0], 0, "mean"), (axes[1], 1, "variance")):
        for values, shift, color, label, hatch in (
            (reference[k], -width / 2, REFERENCE, "reference", ""),
            (student[k], width / 2, STUDENT, "yours", "//"),
        ):
            ys = [v if isinstance(v, (int, float)) and math.isfinite(v) else 0.0 for v in values]
            ax.bar([c + shift for c in range(len(ys))], ys, width, color=color, label=label, hatch=hatch)
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_xticks(range(len(reference[k])))
        ax.set_xlabel("channel")
        ax.set_title(f"per-channel {what}", fontsize=9)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def epoch_curves(student: dict[str, Sequence[float]], reference: dict[str, Sequence[float]], title: str) -> bytes:
    """A training run's curves per epoch, yours against the reference's: one panel per
    quantity (e.g. ``{"training loss": [...], "test accuracy": [...]}``), in the order given."""
    from matplotlib.ticker import MaxNLocator

    names = [n for n in reference if _finite(reference[n], 1e9) or _finite(student.get(n, []), 1e9)]
    fig, axes = _panels(max(len(names), 1), 2.9 * max(len(names), 1) + 0.4)
    for ax, name in zip(axes, names):
        for values, color, style, label in (
            (reference[name], REFERENCE, "-o", "reference"),
            (student.get(name, []), STUDENT, "--x", "yours"),
        ):
            keep = [(i + 1, v) for i, v in enumerate(values) if isinstance(v, (int, float)) and math.isfinite(v)]
            if keep:
                ax.plot([k[0] for k in keep], [k[1] for k in keep], style, color=color, ms=4, lw=1.2, label=label)
        finite = [v for v in _finite(list(reference[name]) + list(student.get(name, [])), 1e9) if v > 0]
        if "loss" in name and finite and max(finite) > 10 * max(min(finite), 1e-6):
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def attach(ctx, filename: str, render: Callable[[], bytes]) -> None:
    """Put a picture in the check's attachments. It is drawn only when a report shows it
    (report.Attachment.png); a drawing problem never costs points."""
    ctx.attachments.append((filename, render))
