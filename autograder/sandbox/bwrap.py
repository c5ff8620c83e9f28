"""What of the host's file system a worker gets to see: the Python installation's folders
(kept apart from the judge's checkout, also Landlock's read list in process mode) and the
pieces of bubblewrap's command line that bind them."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent  # the judge's checkout: never visible to workers
REMAP_ROOT = "/opt/divekit"


def python_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    # Package folders the interpreter was pointed at besides its own (a user site, another
    # environment's site-packages named in a .pth file): the worker imports from them too.
    # Only folders of installed packages: never the judge's checkout or the current folder.
    roots |= {p for p in sys.path if os.path.basename(p.rstrip("/")) in ("site-packages", "dist-packages")}
    real = {os.path.realpath(r) for r in roots if os.path.exists(r)}
    # Keep the outermost folders only.
    return sorted(r for r in real if not any(r != o and r.startswith(o + "/") for o in real))


def inside(path: str, folder: Path) -> bool:
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder + "/")


def python_binds() -> list[tuple[str, str]]:
    """(host path, path in the sandbox) for the Python installation.

    A virtual environment inside the judge's checkout (``.venv``, ``.nox/...``) is bound
    at ``/opt/divekit/...`` so that the checkout's path does not exist in the sandbox.
    """
    return [(root, f"{REMAP_ROOT}/python{i}" if inside(root, REPO) else root) for i, root in enumerate(python_roots())]


def mapped_python(binds: list[tuple[str, str]]) -> str:
    """The interpreter's path in the sandbox (a venv's ``bin/python`` where there is one)."""
    exe = os.path.abspath(sys.executable)
    real_dir = os.path.realpath(os.path.dirname(exe))
    for src, dest in binds:
        for candidate in (exe, os.path.join(real_dir, os.path.basename(exe))):
            if inside(candidate, Path(src)):
                return dest + candidate[len(src) :]
    return os.path.realpath(exe)


def system_binds() -> list[str]:
    args: list[str] = []
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/alternatives",
        "/etc/localtime",
        "/usr/share/zoneinfo",
        "/etc/nsswitch.conf",
    ):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    if os.path.isdir("/sys/devices/system/cpu"):
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    return args


def ro_binds(pairs: list[tuple[str, str]]) -> list[str]:
    """``--ro-bind`` each pair, creating parent folders world-traversable first (bwrap
    makes them 0700, which a worker that dropped to its own uid could not enter)."""
    args: list[str] = []
    made: set[str] = set()
    for src, dest in pairs:
        parents = []
        parent = os.path.dirname(dest)
        while parent not in ("/", "") and parent not in made:
            parents.append(parent)
            parent = os.path.dirname(parent)
        for folder in reversed(parents):
            args += ["--perms", "0755", "--dir", folder]
            made.add(folder)
        args += ["--ro-bind", src, dest]
        made.add(dest)
    return args


def bwrap_flags(variant: str) -> list[str]:
    common = ["--die-with-parent", "--new-session", "--hostname", "divekit-worker"]
    if variant == "root-drop":
        # No user namespace: the worker drops from root to its own uid at boot, which
        # needs CAP_SETUID/CAP_SETGID until then and no capability after.
        return [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            *common,
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
    return ["--unshare-all", "--unshare-user", "--disable-userns", *common, "--cap-drop", "ALL"]
