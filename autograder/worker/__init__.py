"""The worker: the only process that imports a student's code.

It is started by the judge (``autograder.sandbox``), receives requests over a private
pipe and answers them. Everything in this package must run from a private copy inside
a sandbox, so it imports nothing from the rest of ``autograder``.
"""
