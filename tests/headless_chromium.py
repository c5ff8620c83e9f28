"""A real headless Chromium, driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes the browser read protocol messages from its file
descriptor 3 and write them to 4, each a JSON object ended by a NUL byte: no port to pick
or race for, no websocket library, and nothing downloaded (Debian's ``chromium``). A page
is loaded, and what a reader would see is reported: a screenshot, every image's natural
size, and every script error or console error the page raised.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find() -> str | None:
    """The browser's path, or None where none is installed."""
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


@dataclass
class PageView:
    """What one loaded page showed."""

    screenshot: bytes  # PNG of the whole page
    images: list[dict]  # per <img>: complete, naturalWidth, naturalHeight, alt
    errors: list[str] = field(default_factory=list)  # script exceptions and console/log errors


class ChromiumError(RuntimeError):
    pass


class Chromium:
    """One headless browser for the life of a ``with`` block."""

    def __init__(self, binary: str, timeout: float = 60.0):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="divekit-chromium-")
        self._log = open(Path(self._profile.name) / "stderr.log", "w+b")  # closed in __exit__
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        # The browser's fd 3 is what it reads, fd 4 what it writes; dup2 in the child puts
        # our pipe ends there. close_fds=False: Popen closes the other descriptors AFTER
        # preexec_fn, so it would close 3 and 4 again (our own ends are close-on-exec).
        def wire() -> None:
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        args = [
            binary,
            "--headless=new",
            "--remote-debugging-pipe",
            "--no-sandbox",  # as root (CI, containers) Chromium refuses to start otherwise
            "--disable-gpu",
            "--disable-dev-shm-usage",  # small /dev/shm in containers
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            f"--user-data-dir={self._profile.name}",
            "about:blank",
        ]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            # A file, not a pipe: Chromium is chatty on stderr and a full pipe would stall it.
            stderr=self._log,
            preexec_fn=wire,  # only os.dup2 runs there (no locks, no imports)
            close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []

    # -- the protocol --------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError(f"no answer from Chromium within {self.timeout:g} s")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    raise ChromiumError(f"Chromium closed the pipe: {self._stderr()}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its answer (events met meanwhile are kept)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
            self._events.append(self._read_message(deadline))

    def _stderr(self) -> str:
        try:
            self._log.seek(0)
            return self._log.read().decode(errors="replace")[-2000:]
        except (OSError, ValueError):
            return ""

    # -- what the tests use --------------------------------------------------------------

    def view(self, page: Path) -> PageView:
        """Load ``page`` in a fresh tab; its screenshot, images and errors."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        self._events.clear()
        self.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        self._wait_for("Page.loadEventFired", session)
        images = self.send(
            "Runtime.evaluate",
            {
                "expression": "Array.from(document.images).map(i => ({complete: i.complete, "
                "naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, alt: i.alt}))",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
        metrics = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1},
            },
            session=session,
        )
        errors = [_error(e) for e in self._events if e.get("sessionId") == session and _is_error(e)]
        self.send("Target.closeTarget", {"targetId": target})
        return PageView(base64.b64decode(shot["data"]), images, errors)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.send("Browser.close")
        except (ChromiumError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        self._profile.cleanup()


def _is_error(event: dict) -> bool:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return True
    if method == "Log.entryAdded":
        return params.get("entry", {}).get("level") == "error"
    if method == "Runtime.consoleAPICalled":
        return params.get("type") in ("error", "assert")
    return False


def _error(event: dict) -> str:
    params = event.get("params", {})
    if event["method"] == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return "exception: " + str(details.get("exception", {}).get("description") or details.get("text"))
    if event["method"] == "Log.entryAdded":
        entry = params["entry"]
        return f"log {entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip()
    return "console: " + " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", []))
