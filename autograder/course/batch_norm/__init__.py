"""The batch_norm exercise: its checks (judge side) and its probes (worker side)."""
