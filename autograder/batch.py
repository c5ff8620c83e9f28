"""Grading many submissions: one folder in, one Gradescope JSON per submission out.

Every submission (a sub-folder or a zip of ``FOLDER``) is graded by a judge process of
its own, ``--jobs`` at a time, so that nothing one submission does can stop, slow down
or change the grading of another: a judge that crashes, hangs past its deadline or is
killed costs only its own submission, which then gets a JSON that says what happened.
``DIR/<name>.json`` is Gradescope's results.json, written atomically the moment its
submission is done; ``DIR/grades.csv`` has one row per submission.

A class run can be killed and started again: a submission whose JSON is there, written
for the same files under the same grading (its ``extra_data.fingerprint``: the
submission's bytes, the configuration, the checks), is not graded again; one whose files
changed, or whose grading stopped with an error, is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from . import i18n
from .config import GradingConfig

SUMMARY = "grades.csv"
FIELDS = ["name", "status", "score", "max_score", "seconds", "reason", "source", "fingerprint"]


@dataclass
class Row:
    name: str
    status: str  # "graded", "unusable" (nothing to grade) or "error" (the grader failed)
    score: float
    max_score: float
    seconds: float
    reason: str
    source: str
    fingerprint: str = ""


def discover(folder: str | Path) -> list[tuple[str, Path]]:
    """(name, path) of every submission in ``folder``: sub-folders and zips, sorted."""
    found: list[tuple[str, Path]] = []
    taken: set[str] = set()
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith((".", "_")):
            continue
        if not (path.is_dir() or path.suffix.lower() == ".zip"):
            continue
        base = path.stem if path.is_file() else path.name
        base = "".join(c if c.isalnum() or c in "-_." else "_" for c in base) or "submission"
        name, n = base, 2
        while name in taken or name == Path(SUMMARY).stem:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        found.append((name, path))
    return found


def unusable_json(reason: str, status: str = "unusable") -> dict:
    """A Gradescope results.json for a submission that could not be graded. A grader
    error (status "error") carries no score: the fault is not the student's, not even a 0."""
    data = {
        "score": 0.0,
        "output": f"This submission could not be graded: {reason}",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"status": status, "reason": reason},
    }
    if status == "error":
        del data["score"]
    return data


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def deadline_for(config: GradingConfig, only: list[str] | None = None) -> float:
    """How long one judge may take before it is stopped: every module's budget, twice."""
    from . import curriculum

    try:
        modules = len(curriculum.select(only))
    except KeyError:
        modules = 1
    return 120 + 2 * modules * config.limits.module_seconds


def fingerprint(path: Path, job: dict) -> str:
    """What a submission's grade depends on: its files (names and bytes), the grading
    configuration and the checks it is graded with. The same fingerprint, the same grade."""
    from .framework.answer_key import stamp

    # Lanes say how the work is spread over this machine's cores, not what a grade is.
    config = {k: v for k, v in job.get("config", {}).items() if k != "lanes"}
    h = hashlib.sha256(json.dumps([dict(job, config=config), stamp()], sort_keys=True, default=str).encode())
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:32]


def _done(out: Path, want: str, name: str, path: Path) -> Row | None:
    """The row of a submission already graded under ``want`` (None: grade it)."""
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    extra = data.get("extra_data", {})
    if extra.get("fingerprint") != want or extra.get("status") not in ("graded", "unusable"):
        return None
    return Row(
        name,
        extra["status"],
        round(float(data.get("score", 0.0)), 6),
        round(float(data.get("max_score", 0.0)), 6),
        0.0,
        extra.get("reason", "") or "already graded (same files, same grading)",
        str(path),
        want,
    )


def grade_one(
    submission: str,
    out: str,
    config: GradingConfig,
    only: list[str] | None = None,
    fingerprint_of_job: str = "",
    html_out: str | None = None,
) -> dict:
    """Grade one submission in this process and write its JSON (stamped with
    ``fingerprint_of_job``, see :func:`fingerprint`), and, given ``html_out``, its HTML
    report there (a graded submission only; the JSON's ``output`` then names the file);
    returns a summary."""
    from . import intake
    from .grading import GraderFault, grade

    start = time.monotonic()
    try:
        report = grade(submission, only, config)
    except (intake.UnusableSubmission, GraderFault) as exc:
        status = "unusable" if isinstance(exc, intake.UnusableSubmission) else "error"
        data = unusable_json(str(exc), status=status)
        data["extra_data"]["fingerprint"] = fingerprint_of_job
        _write_json(Path(out), data)
        return {
            "status": status,
            "reason": str(exc),
            "score": 0.0,
            "max_score": 0.0,
            "seconds": time.monotonic() - start,
        }
    data = report.to_gradescope(include_attachments=True)
    data["execution_time"] = round(time.monotonic() - start, 2)
    data["extra_data"]["status"] = "graded"
    data["extra_data"]["fingerprint"] = fingerprint_of_job
    if html_out:
        _write_html(report, Path(html_out))
        said = f"The full report, with pictures: {Path(html_out).name}, beside {Path(out).name}."
        data["output"] = f"{data['output']}\n{said}" if data["output"] else said
    _write_json(Path(out), data)
    return {
        "status": "graded",
        "reason": "",
        "score": report.score,
        "max_score": report.max_score,
        "seconds": time.monotonic() - start,
    }


def _write_html(report, path: Path) -> None:
    from . import hints as graded_hints
    from . import html_report

    hints = graded_hints.for_report(graded_hints.language())  # no student state: the first hint
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html_report.render(report, hints=hints), encoding="utf-8")
    os.replace(tmp, path)


def _run_judge(name: str, path: Path, out_dir: Path, job: dict, deadline: float) -> Row:
    out = out_dir / f"{name}.json"
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="divekit-judge-") as scratch:
        spec_file = Path(scratch) / "job.json"
        spec_file.write_text(json.dumps(dict(job, submission=str(path), out=str(out))))
        log = Path(scratch) / "log"
        with open(log, "wb") as log_stream:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.batch", str(spec_file)],
                stdin=subprocess.DEVNULL,
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                code = None
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        tail = log.read_bytes()[-2000:].decode("utf-8", "replace")
    seconds = time.monotonic() - start
    summary = None
    for line in reversed(tail.splitlines()):
        if line.startswith("DIVEKIT-RESULT "):
            try:
                summary = json.loads(line.split(" ", 1)[1])
            except ValueError:
                summary = None
            break
    if summary is not None and code == 0 and out.exists():
        return Row(
            name,
            summary["status"],
            round(float(summary["score"]), 6),
            round(float(summary["max_score"]), 6),
            round(seconds, 2),
            summary.get("reason", ""),
            str(path),
            job.get("fingerprint", ""),
        )
    if code is None:
        reason = f"grading did not finish within {deadline:.0f} s and was stopped"
    elif code < 0:
        reason = f"the grader was killed by {signal.Signals(-code).name}"
    else:
        last = [ln for ln in tail.splitlines() if ln.strip()][-1:] or [""]
        reason = f"the grader failed (exit status {code}): {last[0][:300]}"
    _write_json(out, unusable_json(reason, status="error"))
    return Row(name, "error", 0.0, 0.0, round(seconds, 2), reason, str(path))


def _packed(path: Path) -> bytes:
    """A submission as bytes (a zip of a folder, a zip as it is): what a Ray task is sent,
    so that no node needs the driver's filesystem."""
    if path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            zf.write(f, str(f.relative_to(path)))
    return buffer.getvalue()


def grade_packed(name: str, blob: bytes, is_zip: bool, job: dict, deadline: float) -> tuple[dict, dict]:
    """Grade one submission sent as bytes, on whatever machine runs this (a Ray task): the
    judge runs here, the student's code in the sandboxed worker the judge starts. Returns
    the summary row and the results JSON, which the driver writes."""
    with tempfile.TemporaryDirectory(prefix="divekit-task-") as scratch:
        root = Path(scratch)
        if is_zip:
            path = root / f"{name}.zip"
            path.write_bytes(blob)
        else:
            path = root / name
            path.mkdir()  # an empty folder packs to an empty zip, which extracts to nothing
            with zipfile.ZipFile(io.BytesIO(blob)) as zf:
                zf.extractall(path)
        (root / "out").mkdir()
        row = _run_judge(name, path, root / "out", job, deadline)
        data = json.loads((root / "out" / f"{name}.json").read_text(encoding="utf-8"))
    return asdict(row), data


def _ray_rows(todo, job: dict, deadline: float, config: GradingConfig, address: str | None, jobs: int):
    """Yield (name, path, row, data) as each Ray task finishes: one task per submission,
    asking for one CPU (the judge and its worker), and for a share of a GPU when the
    grading trains on CUDA."""
    import ray

    if not ray.is_initialized():
        # No address: a real local Ray instance on this machine, sized to --jobs.
        ray.init(address=address, num_cpus=None if address else jobs, include_dashboard=False, log_to_driver=False)
    gpus = 0.25 if config.device.startswith("cuda") and config.training else 0
    task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(grade_packed)
    pending = {
        task.remote(name, _packed(path), path.is_file(), dict(job, fingerprint=want), deadline): (name, path)
        for name, path, want in todo
    }
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        name, path = pending.pop(done[0])
        try:
            row, data = ray.get(done[0])
            yield name, path, Row(**dict(row, source=str(path))), data
        except Exception as exc:  # noqa: BLE001 - a lost task costs its submission only
            reason = f"the Ray task grading it failed: {type(exc).__name__}: {str(exc)[:300]}"
            yield name, path, Row(name, "error", 0.0, 0.0, 0.0, reason, str(path)), unusable_json(reason, "error")


def grade_all(
    folder: str | Path,
    out_dir: str | Path,
    config: GradingConfig,
    *,
    only: list[str] | None = None,
    jobs: int = 1,
    progress: Callable[[Row], None] | None = None,
    backend: str = "local",
    address: str | None = None,
) -> list[Row]:
    """Grade every submission of ``folder`` into ``out_dir``; returns the summary rows.

    ``backend="local"``: ``jobs`` judge processes on this machine; ``"ray"``: one Ray task
    per submission on the cluster at ``address`` (a local Ray instance when None)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = config.built()  # probe the sandbox once, not once per submission
    # The language is part of the job: it is what the feedback in every JSON is written in,
    # so a rerun in another language regrades (the fingerprint covers it), and each judge,
    # here or in a Ray task elsewhere, writes in the driver's language, not its own locale's.
    job = {"only": only, "config": config.to_dict(), "lang": i18n.current()}
    deadline = deadline_for(config, only)
    submissions = discover(folder)
    rows: dict[str, Row] = {}
    todo = []
    for name, path in submissions:
        want = fingerprint(path, job)
        row = _done(out_dir / f"{name}.json", want, name, path)
        if row is not None:
            rows[name] = row
            if progress:
                progress(row)
        else:
            todo.append((name, path, want))

    if backend == "local":
        # The judges at work here at once share this machine's cores: each gets the lanes
        # of its share (a Ray task decides on its own node). Not in the fingerprint: no regrade.
        at_once = max(1, min(jobs, len(todo)))
        job["config"]["lanes"] = config.module_lanes(cores=(os.cpu_count() or 1) // at_once)

    def one(item: tuple[str, Path, str]) -> Row:
        name, path, want = item
        try:
            row = _run_judge(name, path, out_dir, dict(job, fingerprint=want), deadline)
        except Exception as exc:  # noqa: BLE001 - one submission never stops the others
            reason = f"internal error while grading: {type(exc).__name__}: {exc}"
            _write_json(out_dir / f"{name}.json", unusable_json(reason, status="error"))
            row = Row(name, "error", 0.0, 0.0, 0.0, reason, str(path))
        if progress:
            progress(row)
        return row

    if backend == "ray":
        for name, _path, row, data in _ray_rows(todo, job, deadline, config, address, jobs):
            _write_json(out_dir / f"{name}.json", data)  # atomically, the moment it is back
            rows[name] = row
            if progress:
                progress(row)
    elif backend == "local":
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for row in pool.map(one, todo):
                rows[row.name] = row
    else:
        raise ValueError(f"backend must be local or ray, not {backend!r}")
    rows = [rows[name] for name, _ in submissions]
    tmp = out_dir / (SUMMARY + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    os.replace(tmp, out_dir / SUMMARY)
    return rows


def _main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    i18n.use(job.get("lang"))
    try:
        config = GradingConfig.from_dict(job["config"])
        summary = grade_one(job["submission"], job["out"], config, job["only"], job.get("fingerprint", ""))
    except Exception as exc:
        print(f"DIVEKIT-ERROR {type(exc).__name__}: {exc}", flush=True)
        raise
    print("DIVEKIT-RESULT " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))


__all__ = ["Row", "discover", "fingerprint", "grade_all", "grade_one", "unusable_json"]
