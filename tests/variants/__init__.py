"""Realistic wrong implementations (and different correct ones) for every stub.

Each ``variants/<module>.py`` defines ``WRONG`` and ``RIGHT``: lists of
:class:`Variant`, each replacing one stub of the reference solution with other code.
``test_variants.py`` grades each variant on its stub alone and asserts that a wrong one
loses points with a message naming its mistake, and a right one gets full marks.
"""
