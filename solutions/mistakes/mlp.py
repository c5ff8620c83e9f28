"""The MLP's known mistakes, implemented: instructor-only (see framework/answer_key.py).

Each is the reference's net with one thing changed (a ReLU on the output, a bias left
out), so it *is* solution code: it runs only where the solutions are, inside checks.py's
``_reference_mistakes``, and reaches a student pack as values recorded in the answer key.
This file is never shipped in a pack and is beside the solutions, outside the grader package. The names and
hints the student reads live in checks.py (``NET_MISTAKES``), under the ids used here.
"""

from __future__ import annotations

import torch


def net(X, W1, b1, W2, b2):
    flat, w1, c1, w2, c2 = (t.double() for t in (X.reshape(-1, W1.shape[0]), W1, b1, W2, b2))
    hidden = flat @ w1 + c1
    logits = hidden.clamp(min=0) @ w2 + c2
    return {
        "output_relu": logits.clamp(min=0),
        "no_hidden_relu": hidden @ w2 + c2,
        "output_softmax": torch.softmax(logits, dim=1),
        "no_b1": (flat @ w1).clamp(min=0) @ w2 + c2,
        "no_b2": logits - c2,
    }
