"""The training harness against the book's loop: one LeNet-BN epoch (the reference
solution's network, the book's batch 256 and lr 1.0), the same images, in the same run.

The book's loop is d2l's ``train_ch6``: a shuffling ``DataLoader`` per epoch, the loss and
the accuracy read back to the host every batch (d2l's ``Accumulator``), evaluation with
``evaluate_accuracy_gpu`` in batches of 256. It is timed twice: reading a ``TensorDataset``
of images already made float, without worker processes (the book's loop at its fastest),
and with d2l's data pipeline (each image made float on its own, as ``ToTensor`` does, read
by 4 worker processes, as ``d2l.load_data_fashion_mnist`` does). The harness is
``autograder/worker/probes/networks.py``'s ``train_network``, which grading runs.

    python benchmarks/training_harness.py [--train N] [--test N] [--repeat N] [--device cpu|cuda|auto]

On CPU the harness runs on one thread (grading does); the book's loop is timed on one
thread and on every thread torch has. On CUDA the device's name is printed. CPU seconds are
this process's (all its threads, not the DataLoader's worker processes).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from autograder import data
from autograder.worker.probes.networks import train_network

REPO = Path(__file__).resolve().parents[1]
BATCH, LR, SEED = 256, 1.0, 0


def lenet_bn() -> nn.Module:
    spec = importlib.util.spec_from_file_location("batch_norm_solution", REPO / "solutions" / "batch_norm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lenet_bn()


class PerImage(torch.utils.data.Dataset):
    """d2l's data pipeline: uint8 images made float one at a time, as ``ToTensor`` does for
    each image ``FashionMNIST`` yields (d2l reads them with 4 worker processes)."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i].float().div(255).unsqueeze(0), int(self.labels[i])


def book_epoch(net, train_iter, test_iter, device) -> float:
    """One epoch of d2l's train_ch6 (its code, less the plotting); returns the test accuracy."""

    def init_weights(m):
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    loss = nn.CrossEntropyLoss()
    metric = [0.0, 0.0, 0]  # d2l.Accumulator(3): loss sum, correct, examples
    net.train()
    for X, y in train_iter:
        optimizer.zero_grad()
        X, y = X.to(device), y.to(device)
        y_hat = net(X)
        ell = loss(y_hat, y)
        ell.backward()
        optimizer.step()
        with torch.no_grad():
            metric[0] += float(ell * X.shape[0])
            metric[1] += float((y_hat.argmax(dim=1) == y).sum())  # d2l.accuracy
            metric[2] += X.shape[0]
    net.eval()  # d2l.evaluate_accuracy_gpu
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in test_iter:
            X, y = X.to(device), y.to(device)
            correct += float((net(X).argmax(dim=1) == y).sum())
            total += y.numel()
    return correct / total


def timed(fn) -> tuple[float, float, float]:
    """Wall seconds, this process's CPU seconds (all its threads) and the accuracy."""
    start, cpu = time.perf_counter(), time.process_time()
    acc = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - cpu, acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10000, help="training images (the book: 60000)")
    parser.add_argument("--test", type=int, default=2000, help="test images (the book: 10000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args, _ = parser.parse_known_args()  # nox -s bench passes every script the same arguments
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    # The copy grading would read ($DIVEKIT_FASHION_MNIST, e.g. Debian's package): without
    # it a machine with no download would time the digits fallback (1497 images) instead.
    images = data.load_fashion_mnist(copy=os.environ.get(data.FASHION_ENV_VAR, "").strip() or None)
    tr_x, tr_y = images.train_images[: args.train], images.train_labels[: args.train]
    te_x, te_y = images.test_images[: args.test], images.test_labels[: args.test]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"one LeNet-BN epoch on {images.name}, {len(tr_x)} training / {len(te_x)} test images, "
        f"batch {BATCH}, lr {LR}, on {where}; median of {args.repeat}"
    )
    as_float = lambda x: x.float().div(255).unsqueeze(1)  # noqa: E731 - d2l's ToTensor
    made = TensorDataset(as_float(tr_x), tr_y), TensorDataset(as_float(te_x), te_y)
    per_image = PerImage(tr_x, tr_y), PerImage(te_x, te_y)
    threads = torch.get_num_threads()

    def book(n_threads, sets=made, workers=0):
        def run():
            torch.set_num_threads(n_threads)
            torch.manual_seed(SEED)
            net = lenet_bn()
            train_iter = DataLoader(sets[0], BATCH, shuffle=True, num_workers=workers)
            test_iter = DataLoader(sets[1], BATCH, shuffle=False, num_workers=workers)
            try:
                return book_epoch(net, train_iter, test_iter, device)
            finally:
                torch.set_num_threads(threads)

        return run

    def harness():
        torch.manual_seed(SEED)
        settings = dict(seed=SEED, lr=LR, epochs=1, batch_size=BATCH, on=str(device))
        return train_network(lenet_bn(), tr_x, tr_y, te_x, te_y, **settings).acc[0]

    runs = {"harness": harness, "book, 1 thread": book(1), "book, d2l's data, 4 workers": book(1, per_image, 4)}
    if device.type == "cpu" and threads > 1:
        runs[f"book, {threads} threads"] = book(threads)
    if device.type == "cuda":
        runs = {"harness": harness, "book": book(threads), "book, d2l's data": book(threads, per_image, 4)}
    times: dict[str, list[float]] = {k: [] for k in runs}
    cpu_times: dict[str, list[float]] = {k: [] for k in runs}
    accs: dict[str, float] = {}
    for _ in range(args.repeat):  # alternate, so that drift in the machine's load hits all alike
        for name, fn in runs.items():
            seconds, cpu, accs[name] = timed(fn)
            times[name].append(seconds)
            cpu_times[name].append(cpu)
    # CPU seconds as well as wall seconds: on a shared machine the wall clock mostly
    # measures the neighbours, the CPU time of a one-thread run much less so.
    base, cpu_base = statistics.median(times["harness"]), statistics.median(cpu_times["harness"])
    for name in runs:
        t, c = statistics.median(times[name]), statistics.median(cpu_times[name])
        ratio = f"  {t / base:5.2f}x the harness (wall), {c / cpu_base:5.2f}x (CPU)" if name != "harness" else ""
        print(f"  {name:<26} {t:7.2f} s wall {c:7.2f} s CPU  (test accuracy {accs[name]:.3f}){ratio}")


if __name__ == "__main__":
    main()
