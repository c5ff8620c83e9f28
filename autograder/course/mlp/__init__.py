"""The mlp exercise: its checks (judge side) and its probes (worker side)."""
