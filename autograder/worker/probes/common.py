"""Probes every module can use."""

from __future__ import annotations

from . import describe_module


def describe(student, handle):
    """Structure of a module built by the student (parameters, buffers, children)."""
    return describe_module(handle)
