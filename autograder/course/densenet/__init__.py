"""The densenet exercise: its checks (judge side) and its probes (worker side)."""
