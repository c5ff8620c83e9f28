"""The gradient_descent exercise: its checks (judge side) and its probes (worker side)."""
