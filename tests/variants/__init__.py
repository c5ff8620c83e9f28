"""Realistic wrong implementations (and different correct ones) for every stub.

Each ``variants/<module>.py`` defines ``WRONG`` and ``RIGHT``: lists of
:class:`Variant`, each replacing one stub of the reference solution with other code;
every stub needs at least one of each (``divekit dev check`` says which lack one).
``test_variants.py`` grades each variant on its stub alone, as a real grade would, and
asserts that a wrong one loses points with feedback that contains its ``expect`` phrase
(in what a failing test said, not in its title), and a right one gets full marks.
"""
