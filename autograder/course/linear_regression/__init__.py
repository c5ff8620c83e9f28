"""The linear_regression exercise: its checks (judge side) and its probes (worker side)."""
