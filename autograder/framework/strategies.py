"""Hypothesis strategies shared by every module's checks (one place, as in MiniTorch).

Strategies draw *descriptions* (shapes, scales, seeds) and build tensors from a seeded
generator: tensors stay cheap to draw and shrink well, and a failing example reads as
"shape (3, 4), scale 1e4, float64" rather than a wall of numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st

DTYPES = st.sampled_from([torch.float64, torch.float32])


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: torch.dtype
    scale: float
    offset: float
    seed: int

    def make(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed)
        x = torch.randn(self.shape, generator=g, dtype=torch.float64) * self.scale + self.offset
        return x.to(self.dtype)

    def __str__(self) -> str:
        where = f", offset {self.offset:g}" if self.offset else ""
        return f"an input of shape {self.shape}, {str(self.dtype).replace('torch.', '')}, scale {self.scale:g}{where}"


def shapes(min_dims: int = 1, max_dims: int = 2, min_side: int = 1, max_side: int = 8):
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def tensors(
    shape=None, *, dtypes=DTYPES, scales=(1.0,), offsets=(0.0,), min_dims=1, max_dims=2, min_side=1, max_side=8
):
    """TensorSpec strategy; ``scales``/``offsets`` list the magnitudes worth visiting."""
    shape_st = st.just(tuple(shape)) if shape is not None else shapes(min_dims, max_dims, min_side, max_side)
    return st.builds(
        TensorSpec, shape_st, dtypes, st.sampled_from(scales), st.sampled_from(offsets), st.integers(0, 2**31 - 1)
    )


def matrices(min_rows=1, max_rows=8, min_cols=1, max_cols=8, **kw):
    shape = st.tuples(st.integers(min_rows, max_rows), st.integers(min_cols, max_cols))
    return shape.flatmap(lambda s: tensors(s, **kw))


# Logits from ordinary to huge: 1e4 is where a naive exp() overflows even in float64.
LOGIT_SCALES = (1.0, 10.0, 100.0, 1e4)


def logits(max_rows: int = 8, max_classes: int = 10, dtypes=DTYPES):
    return matrices(1, max_rows, 1, max_classes, dtypes=dtypes, scales=LOGIT_SCALES, offsets=(0.0, 1e3, -1e3))


def probabilities_and_labels(max_rows: int = 8, max_classes: int = 10):
    """``(y_hat, y)`` with rows of ``y_hat`` on the simplex and int64 labels."""

    @st.composite
    def draw(draw_):
        rows = draw_(st.integers(1, max_rows))
        classes = draw_(st.integers(2, max_classes))
        seed = draw_(st.integers(0, 2**31 - 1))
        dtype = draw_(DTYPES)
        sharp = draw_(st.sampled_from([1.0, 5.0, 20.0]))
        g = torch.Generator().manual_seed(seed)
        y_hat = torch.softmax(torch.randn(rows, classes, generator=g, dtype=torch.float64) * sharp, 1)
        y = torch.randint(0, classes, (rows,), generator=g)
        return y_hat.to(dtype), y

    return draw()


seeds = st.integers(0, 2**31 - 1)
