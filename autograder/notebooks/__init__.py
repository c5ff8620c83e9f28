"""divekit as an nbgrader course (not named ``nbgrader``: that would shadow nbgrader itself).

- :mod:`.export` writes the course: ``nbgrader_config.py`` and one source notebook per
  module, generated from ``solutions/`` (``divekit nbgrader export``).
- :mod:`.in_kernel` is what the notebooks' test cells call, inside the student's kernel,
  when nbgrader runs them (``nbgrader validate`` / ``autograde``): nbgrader's own route.
- :mod:`.trusted` grades ``submitted/`` in divekit's sandbox and writes nbgrader's
  gradebook (``divekit nbgrader autograde``): the route whose grades can be trusted.
- :mod:`.stub_results` turns one divekit report into each test cell's points and text,
  the same way for both routes, so that they agree.
"""
