"""``python -m autograder``: the divekit command, from a checkout or a worktree."""

from .cli import main

main()
