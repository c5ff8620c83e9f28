"""The training harness (worker/probes/networks.py) and the training-check declarations.

The harness is fast by preparing data once, gathering each epoch's shuffled set once and
syncing with the host once per run; these tests prove that none of that changes what it
computes: it matches the book's loop, batch for batch, under the same seed.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from autograder import framework
from autograder.framework.networks import TrainingThreshold
from autograder.framework.reference_runs import device_identity
from autograder.worker.probes.common import SGD
from autograder.worker.probes.networks import train_network

SEED, LR = 3, 0.5


def _net() -> nn.Module:
    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Conv2d(1, 4, 5), nn.BatchNorm2d(4), nn.Sigmoid(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)
    )


def _data(n_train: int, n_test: int):
    g = torch.Generator().manual_seed(11)
    images = lambda n: torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)  # noqa: E731
    labels = lambda n: torch.randint(0, 10, (n,), generator=g)  # noqa: E731
    return images(n_train), labels(n_train), images(n_test), labels(n_test)


def _book_loop(net, train_x, train_y, test_x, test_y, epochs, batch_size):
    """d2l's train_ch6, one batch at a time, with the harness's seeded permutation."""
    torch.manual_seed(SEED)
    for m in net.modules():
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    loss = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(SEED)
    as_float = lambda x: x.float().div(255).unsqueeze(1)  # noqa: E731
    accs, losses = [], []
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(train_x), generator=g)
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            optimizer.zero_grad()
            ell = loss(net(as_float(train_x[idx])), train_y[idx])
            ell.backward()
            optimizer.step()
            total += float(ell.detach()) * len(idx)
        losses.append(total / len(train_x))
        net.eval()
        with torch.no_grad():
            correct = sum(
                int((net(as_float(test_x[i : i + 7])).argmax(1) == test_y[i : i + 7]).sum())
                for i in range(0, len(test_x), 7)
            )
        accs.append(correct / len(test_x))
    return accs, losses


def test_the_probes_sgd_steps_as_torchs_sgd_bit_for_bit():
    # The probes' own SGD (it spares the fork server torch._dynamo's import), five steps
    # against torch's SGD; one parameter the loss never reaches has no gradient to step by.
    def run(make):
        net = _net()
        params = [*net.parameters(), nn.Parameter(torch.ones(3))]
        opt = make(params)
        x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        for _ in range(5):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
        return [p.detach().clone() for p in params], [p.grad for p in params]

    ours, our_grads = run(lambda ps: SGD(ps, lr=0.3))
    theirs, their_grads = run(lambda ps: torch.optim.SGD(ps, lr=0.3))
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert our_grads[-1] is None and their_grads[-1] is None
    assert all(torch.equal(a, b) for a, b in zip(our_grads[:-1], their_grads[:-1], strict=True))
    assert not torch.equal(ours[0], _net()[0].weight.detach())  # it did step
    opt = SGD(ours, lr=0.3)
    opt.zero_grad()
    assert all(p.grad is None for p in ours)  # zero_grad sets them to None, as torch's default does


def test_the_harness_computes_what_the_books_loop_computes():
    # 70 images in batches of 16: a smaller last batch, which must weigh less in the loss.
    data = _data(70, 40)
    want_acc, want_loss = _book_loop(_net(), *data, epochs=3, batch_size=16)
    run = train_network(_net(), *data, seed=SEED, lr=LR, epochs=3, batch_size=16, on="cpu")
    assert run.acc == want_acc
    assert run.loss == pytest.approx(want_loss, rel=1e-6)


def test_the_harness_is_deterministic_under_a_seed_and_leaves_the_thread_count():
    threads = torch.get_num_threads()
    data = _data(48, 20)
    first = train_network(_net(), *data, seed=SEED, lr=LR, epochs=2, batch_size=16, on="cpu")
    again = train_network(_net(), *data, seed=SEED, lr=LR, epochs=2, batch_size=16, on="cpu")
    assert (first.acc, first.loss) == (again.acc, again.loss)
    assert torch.get_num_threads() == threads


def test_a_network_with_nothing_to_train_runs_and_does_not_learn():
    net = _net()
    for p in net.parameters():
        p.requires_grad_(False)
    run = train_network(net, *_data(32, 16), seed=SEED, lr=LR, epochs=2, batch_size=16, on="cpu")
    assert len(run.acc) == 2 and run.acc[0] == run.acc[1]
    assert all(math.isfinite(v) for v in run.loss)


def _specs() -> list[TrainingThreshold]:
    found = []
    for module in ("batch_norm", "resnet", "densenet"):
        checks = [c for c in framework.load(module) if c.kind == "training"]
        assert checks, f"{module} registers no training check"
        found += [
            v
            for v in vars(__import__(f"autograder.course.{module}.checks", fromlist=["_"])).values()
            if isinstance(v, TrainingThreshold)
        ]
    return found


def test_every_network_threshold_has_a_floor_wherever_it_can_run():
    specs = _specs()
    assert {s.stub for s in specs} == {"lenet_bn", "resnet18", "densenet"}
    for spec in specs:
        for device in ("cpu", "cuda"):
            for dataset in ("fashion-mnist", "digits-fallback"):
                budget, lr, resize, where = spec.on(device, dataset)
                assert where in spec.floors, f"{spec.stub}: no floor for {where}"
                assert 0.1 < spec.floors[where] < 1, f"{spec.stub}: the floor for {where} separates nothing"
                assert budget.epochs >= 1 and lr > 0 and resize in (0, 28, 32, 64, 96)


def test_the_cuda_budget_is_fashion_mnists_and_the_digits_keep_the_cpu_budget():
    spec = next(s for s in _specs() if s.stub == "densenet")
    assert spec.on("cuda", "fashion-mnist") == (spec.cuda, spec.lr_cuda, spec.resize_cuda, ("fashion-mnist", "cuda"))
    assert spec.on("cuda", "digits-fallback") == (spec.cpu, spec.lr, spec.resize_cpu, ("digits-fallback", "cpu"))


def test_the_reference_cache_key_names_what_decides_the_rounding():
    identity = device_identity("cpu")
    assert identity[0] == "cpu" and identity[1] == torch.backends.cpu.get_cpu_capability()
