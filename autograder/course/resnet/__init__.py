"""The resnet exercise: its checks (judge side)."""
