"""The course content: one folder per curriculum module, holding its checks (judge side) and,
where a check needs one, its probes (worker side, sent to the worker as source). The
reference solution is ``solutions/<module>.py``; the variants that prove the checks are
``tests/variants/<module>.py`` (they hold right answers and never ship)."""
