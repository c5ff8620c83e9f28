"""Image data for training thresholds: Fashion-MNIST (or the digits fallback), subsetted
to a budget that depends on the device."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import data
from ..lanes import shared_once


@dataclass(frozen=True)
class Budget:
    """How much training a threshold gets: examples, epochs, batch size."""

    train: int
    test: int
    epochs: int
    batch_size: int = 256

    def describe(self) -> str:
        return f"{self.train} training / {self.test} test images, {self.epochs} epochs, batch {self.batch_size}"


@shared_once  # one copy in memory, however many lanes train at once
def _load(root: str | None, copy: str | None) -> data.ImageData:
    return data.load_fashion_mnist(root, copy=copy or None)


def load(ctx) -> data.ImageData:
    """The dataset for this grading run; its note (e.g. the fallback) goes into the report.

    A copy that is there but unusable raises data.DatasetError: a grader fault, which
    stops grading (see grading.GraderFault) instead of costing the student the check."""
    images = _load(ctx.options.data, ctx.options.fashion_mnist)
    if images.note:
        ctx.notes.append(images.note)
    return images


def subset(images: data.ImageData, budget: Budget, seed: int = 0):
    """A fixed random subset (same for student and reference): uint8 images and labels."""
    g = torch.Generator().manual_seed(seed)
    tr = torch.randperm(len(images.train_images), generator=g)[: budget.train]
    te = torch.randperm(len(images.test_images), generator=g)[: budget.test]
    return (
        images.train_images[tr].contiguous(),
        images.train_labels[tr].contiguous(),
        images.test_images[te].contiguous(),
        images.test_labels[te].contiguous(),
    )


def budget_for(ctx, images: data.ImageData, budgets: dict[str, tuple[Budget, Budget]]) -> Budget:
    """The (cpu, cuda) budget of ``budgets`` for the data set graded on and the device (a
    data set it does not name gets Fashion-MNIST's)."""
    cpu, cuda = budgets.get(images.name, budgets["fashion-mnist"])
    if ctx.device.startswith("cuda"):
        return cuda
    note_cpu_budget(ctx, cpu, cuda)
    return cpu


def note_cpu_budget(ctx, cpu: Budget, cuda: Budget) -> None:
    """Say in the report that this threshold trained at the CPU budget, when a GPU would have
    given it more (a laptop's pass is a smaller run than the official grade's may be)."""
    if cpu != cuda:
        ctx.notes.append(
            f"{ctx.check.module}.{ctx.check.stub}: {ctx.check.title}: ran at the CPU budget ({cpu.describe()}; "
            f"on a GPU: {cuda.describe()})"
        )
