"""Installing a worker's stand-ins (see autograder/framework/stand_ins.py).

The judge sends the source of the stand-ins, derived from the reference solution, as the
first request to a worker that needs any, and uses that worker only for checks that need
exactly those stand-ins. The stand-ins replace the student's pieces in the student's module
for the worker's whole life, so the student's own code (``net`` calling ``relu``) reaches
them; a stand-in that calls a piece which is the student's calls the student's.
"""

from __future__ import annotations


def install(student, source, names, students):
    """Define ``names`` from ``source`` and put them into the student's module; the stubs
    in ``students`` that the stand-ins refer to are the student's own."""
    namespace = {"__name__": f"{student.__name__}_stand_ins", "__builtins__": __builtins__}
    for name in students:
        if hasattr(student, name):
            namespace[name] = getattr(student, name)
    exec(compile(source, "<stand-ins>", "exec"), namespace)  # the judge's code, from the solution
    for name in names:
        setattr(student, name, namespace[name])
    return sorted(names)
