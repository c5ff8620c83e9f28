"""The sandbox the tests that grade use: the one the environment requires
(``DIVEKIT_REQUIRE_SANDBOX=bwrap`` in CI, so that grading is proven under the real
sandbox), else plain processes, which are quicker. Each such test file keeps at least one
test in process mode whatever this says, so that both modes stay covered."""

from __future__ import annotations

import os

SANDBOX = os.environ.get("DIVEKIT_REQUIRE_SANDBOX", "").strip() or "process"
