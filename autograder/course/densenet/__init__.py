"""The densenet exercise: its checks (judge side)."""
