"""The quiz exercise: its checks (judge side)."""
