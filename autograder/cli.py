"""The ``divekit`` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import curriculum, i18n, intake, static
from .config import GradingConfig
from .faults import GraderFault
from .points import show
from .reference import REPO
from .sandbox import choose_mode

SOLUTIONS = REPO / "solutions"
# A student pack is used from its own folder (the grader is installed elsewhere): its
# exercises/ is the one in the current directory.
EXERCISES = Path("exercises").absolute() if Path("exercises").is_dir() else REPO / "exercises"


def _unusable(reason: str) -> None:
    click.echo(f"divekit: cannot grade: {reason}", err=True)
    sys.exit(2)


def _grader_fault(fault: GraderFault) -> None:
    # No report at all, not even to --out: a results.json would score the tests never run.
    click.echo(f"divekit: grading stopped, a fault of the grader (no student is scored for it): {fault}", err=True)
    sys.exit(2)


def grade(submission: str, only: list[str] | None, config: GradingConfig, progress=None):
    """``grading.grade`` with its fork server started first: the judge imports torch (with
    the grading modules, about 2 s) while the zygote imports its own (about 3 s), instead
    of one after the other. Nothing here imports torch before that (see resolve_device)."""
    from .sandbox.zygote import fork_server

    with fork_server(config.limits, config.mode, config.device):
        from .grading import grade as grade_submission

        return grade_submission(submission, only, config, progress)


def _config(asked: dict[str, Any]) -> GradingConfig:
    """The one GradingConfig of this command, from the options of ``grading_options`` (by name)."""
    try:
        return GradingConfig.build(**asked)
    except (ValueError, RuntimeError) as exc:  # a bad --rubric, --device or --sandbox
        _unusable(str(exc))


def _key_config(asked: dict[str, Any]) -> GradingConfig:
    """The configuration an answer key is built under: from the solutions, the public seed."""
    return _config({**asked, "seed": "", "key": ""})


def grading_options(fn):
    decorators = [
        click.option(
            "--only",
            "only",
            multiple=True,
            metavar="MODULE_OR_STUB",
            help="Grade only these modules or stubs (e.g. mlp, mlp.relu, 'Task 1').",
        ),
        click.option(
            "--rubric",
            type=click.Path(exists=True, dir_okay=False),
            help="Instructor override of points and policy (default: the curriculum's own points).",
        ),
        click.option(
            "--solutions",
            type=click.Path(exists=True, file_okay=False),
            help="Folder of reference solutions (default: the repo's solutions/).",
        ),
        click.option(
            "--sandbox",
            type=click.Choice(["auto", "bwrap", "process"]),
            default="auto",
            show_default=True,
            help="Worker isolation; see `divekit doctor`.",
        ),
        click.option(
            "--device",
            default="auto",
            show_default=True,
            help="cpu, cuda or auto: where stubs and training thresholds run.",
        ),
        click.option("--training/--no-training", default=True, show_default=True, help="Run the training thresholds."),
        click.option(
            "--data",
            type=click.Path(file_okay=False),
            help="Local dataset folder (default: $DIVEKIT_DATA or datasets/cache).",
        ),
        click.option(
            "--examples",
            type=click.IntRange(1, 1000),
            default=25,
            show_default=True,
            help="Hypothesis examples per property check.",
        ),
        click.option(
            "--lanes",
            type=click.IntRange(0, 64),
            default=0,
            show_default=True,
            help="Modules graded at the same time (0: two on two cores or more; grade-all: each judge its "
            "share of the cores). The grades do not depend on it.",
        ),
        click.option(
            "--timeout", type=float, default=None, help="Seconds allowed for one call into student code (default 60)."
        ),
        click.option(
            "--seed",
            default=None,
            metavar="SECRET",
            help="The course's secret seed (default: $DIVEKIT_SEED, else the public seed): other inputs "
            "than the student pack's; the report shows a fingerprint, never the secret.",
        ),
        click.option(
            "--key",
            type=click.Path(exists=True, file_okay=False),
            default=None,
            help="Grade from this answer key instead of the solutions (what a student pack does).",
        ),
    ]
    for d in reversed(decorators):
        fn = d(fn)
    return fn


def _choose_language(ctx, param, value) -> None:
    i18n.use(value)  # None: $DIVEKIT_LANG, else the locale


def lang_option(fn):
    """``--lang en|zh``: the language of the messages (default: $DIVEKIT_LANG, else the locale)."""
    return click.option(
        "--lang",
        type=click.Choice(i18n.LANGUAGES),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_choose_language,
        help="Language of the feedback: en or zh (default: $DIVEKIT_LANG, else the locale: LANG=zh_* is zh).",
    )(fn)


@click.group()
@click.version_option(package_name="divekit")
def main() -> None:
    """divekit: auto-graded exercises for Dive into Deep Learning (PyTorch)."""


@main.command("grade")
@click.argument("submission", type=click.Path())
@grading_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "classroom", "html"]),
    default="text",
    show_default=True,
    help="json: Gradescope's results.json; classroom: GitHub Classroom's reporter payload (base64), "
    "written to --out or printed as a result=... line for $GITHUB_OUTPUT; html: one self-contained page "
    "with the pictures.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report here.")
@lang_option
def grade_cmd(submission, only, fmt, out, **asked):
    """Grade SUBMISSION (a folder laid out like exercises/, or a zip of one).

    Exits 0 whenever grading finished, whatever the score; 2 for unusable input.
    """
    config = _config(asked)
    try:
        report = grade(submission, list(only) or None, config)
    except intake.UnusableSubmission as exc:
        _unusable(str(exc))
    except GraderFault as fault:
        _grader_fault(fault)
    except KeyError as exc:
        _unusable(f"--only {exc.args[0]!r} names no module, stub or task (see `divekit list`)")
    except (ValueError, RuntimeError) as exc:
        _unusable(str(exc))
    if fmt == "json":
        text = json.dumps(report.to_gradescope(include_attachments=True), indent=2)
    elif fmt == "classroom":
        text = report.classroom_payload() if out else f"result={report.classroom_payload()}"
    elif fmt == "html":
        from . import html_report

        text = html_report.render(report, hints=_hints())
    else:
        text = report.to_text(hints=_hints())
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n", encoding="utf-8")
        click.echo(f"{show(report.score)}/{show(report.max_score)} -> {out}", err=True)
    else:
        click.echo(text)


@main.command("check")
@click.argument("targets", nargs=-1)
@click.option(
    "--path",
    type=click.Path(exists=True),
    default=str(EXERCISES),
    show_default=True,
    help="Your work: a folder laid out like exercises/.",
)
@click.option("--training/--no-training", default=True, show_default=True)
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto")
@click.option("--data", type=click.Path(file_okay=False))
@click.option("--verbose", is_flag=True, help="Show the output of passing checks too.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write the report as an HTML page here.")
@click.option(
    "--key",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Grade from this answer key (default: the solutions where they are, else the key installed with the grader).",
)
@lang_option
def check_cmd(targets, path, training, sandbox, data, verbose, key, html_out):
    """Grade your own exercises (all, or the given modules/stubs) with readable output."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    config = _config({"sandbox": sandbox, "device": "auto", "training": training, "data": data, "key": key})
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        ) as progress:
            task = progress.add_task("grading", total=None)

            def report_progress(label, done, total):
                progress.update(task, description=f"grading {label}", completed=done, total=total)

            report = grade(path, list(targets) or None, config, progress=report_progress)
    except intake.UnusableSubmission as exc:
        _unusable(str(exc))
    except GraderFault as fault:
        _grader_fault(fault)
    except KeyError as exc:
        _unusable(f"{exc.args[0]!r} names no module, stub or task (see `divekit list`)")
    shown_hints = _hints(path)  # the language --lang chose (i18n), the hints revealed so far
    _print_report(report, verbose, shown_hints)
    if html_out:
        from . import html_report

        Path(html_out).parent.mkdir(parents=True, exist_ok=True)
        page = html_report.render(report, hints=shown_hints)
        Path(html_out).write_text(page, encoding="utf-8")
        console.print(i18n.t("report.html_written", path=html_out))


def _hints(exercises: str | None = None) -> dict[str, str]:
    """Each stub's hint text, by stub id, as every report rendering takes them: for a
    student's own ``exercises`` the hints revealed so far (autograder/hints.py)."""
    from . import hints

    return hints.for_report(hints.language(), exercises)


def _print_report(report, verbose: bool, hints: dict[str, str]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    for note in report.notes:
        console.print(f"[dim]{i18n.t('report.note', note=note)}[/dim]")
    by_stub = report.by_stub()
    for stub, points, tests in report.rows(hints):
        got, total = by_stub[stub]
        colour = "green" if got >= total - 1e-9 else "red" if got == 0 else "yellow"
        said = "/".join(map(show, points))
        console.print(f"\n[bold]{stub}[/bold]  [{colour}]{said}[/{colour}]")
        for t, _, hint in tests:
            ok = t.status == "passed"
            mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
            console.print(f"  {mark} {t.title}", highlight=False)
            if (not ok or verbose) and t.output:
                console.print("    " + t.output.replace("\n", "\n    "), highlight=False, markup=False)
            if hint:
                label = i18n.t("report.hint", hint="").strip()  # "hint:", in the language in force
                for line in hint.splitlines():
                    console.print(f"    [cyan]{label}[/cyan] {escape(line)}", highlight=False)
    got, most = map(show, report.shown()["total"])
    console.print(f"\n[bold]{i18n.t('report.total', got=got, total=most)}[/bold]")


@main.command("list")
@click.option("--path", type=click.Path(exists=True), default=str(EXERCISES), show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also what each stub is to do (its task text's first paragraph).")
@lang_option
def list_cmd(path, verbose):
    """The stubs, in order, with their points and whether you have started them."""
    from rich.console import Console
    from rich.table import Table

    try:
        sources = intake.read_submission(path)
    except intake.UnusableSubmission as exc:
        _unusable(str(exc))
    rubric = curriculum.load_rubric()
    say = i18n.t
    from . import task_texts

    table = Table(say("list.stub"), say("list.task"), say("list.points"), say("list.status"))
    if verbose:  # the stub ids unbroken, the task text wrapped in what is left
        table.columns[0].no_wrap = True
        table.add_column(say("list.about"), ratio=1)
    for m in curriculum.modules():
        source = sources.get(m.name)
        tree = static.parse(source.text, m.filename) if source else None
        for s in m.stubs:
            if source is None:
                status = f"[red]{say('list.file_missing')}[/red]"
            elif isinstance(tree, static.SyntaxProblem):
                status = f"[red]{say('list.syntax_error')}[/red]"
            elif not static.defines(tree, s.name):
                status = f"[red]{say('list.not_defined')}[/red]"
            elif static.raises_not_implemented(tree, s.name):
                status = f"[dim]{say('list.to_do')}[/dim]"
            else:
                status = f"[green]{say('list.written')}[/green] {say('list.run_check')}"
            row = [s.id, i18n.course_text("tasks", m.task), f"{rubric.stub_points(s.id):g}", status]
            table.add_row(*row, *([task_texts.summary(s.id, path)] if verbose else []))
    Console().print(table)


@main.command("release")
@click.option(
    "--check", "check_only", is_flag=True, help="Only report whether exercises/ is up to date (exit 1 if not)."
)
def release_cmd(check_only):
    """Regenerate exercises/ from solutions/ (solution blocks become stubs)."""
    from .release import ReleaseError, release

    try:
        stale = release(SOLUTIONS, EXERCISES, check=check_only)
    except ReleaseError as exc:
        _unusable(str(exc))
    if check_only:
        if stale:
            click.echo("exercises/ is out of date for: " + ", ".join(stale) + " (run `divekit release`)", err=True)
            sys.exit(1)
        click.echo("exercises/ is up to date")
    else:
        click.echo("wrote " + (", ".join(stale) if stale else "nothing (already up to date)"))


@main.command("verify")
@grading_options
def verify_cmd(only, **asked):
    """Maintainers: prove every solution gets full marks and every shipped stub gets 0."""
    from . import dev

    config = _config(asked)
    try:
        problems = dev.graded_problems(dev.Layout(REPO), config, only=only, echo=click.echo)
    except GraderFault as fault:
        _grader_fault(fault)
    for p in problems:
        click.echo(f"  problem: {p}", err=True)
    sys.exit(1 if problems else 0)


@main.command("grade-all")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where DIR/<name>.json (Gradescope format) and DIR/grades.csv go; a rerun skips what is done.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Submissions graded at the same time (one judge process each).",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: --jobs judge processes here; ray: one Ray task per submission (pip install ray).",
)
@click.option("--address", default=None, help="The Ray cluster to use (default: start a local Ray instance).")
@grading_options
@lang_option
def grade_all_cmd(folder, out_dir, jobs, backend, address, only, **asked):
    """Grade every submission in FOLDER (each sub-folder or zip) into --out-dir.

    One submission that misbehaves never stops the others; one that cannot be graded
    gets a JSON saying why. Exits 0 once every submission has its JSON.
    """
    from .batch import discover, grade_all
    from .class_progress import class_progress

    try:
        curriculum.select(list(only) or None)
    except KeyError as exc:
        _unusable(f"--only {exc.args[0]!r} names no module, stub or task (see `divekit list`)")
    config = _config(asked)  # probes the sandbox once, for every submission

    try:
        with class_progress(len(discover(folder))) as tell:  # a bar on a terminal, lines otherwise
            rows = grade_all(
                folder,
                out_dir,
                config,
                only=list(only) or None,
                jobs=jobs,
                progress=tell,
                backend=backend,
                address=address,
            )
    except RuntimeError as exc:
        _unusable(str(exc))
    click.echo(f"{len(rows)} submission(s) -> {Path(out_dir) / 'grades.csv'}")


@main.group("key")
def key_group() -> None:
    """Instructors: the answer key a student pack grades with."""


@key_group.command("build")
@click.option("--out", type=click.Path(file_okay=False), default="answer-key", show_default=True)
@click.option("--only", multiple=True, metavar="MODULE", help="Only these modules (default: all).")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True)
@click.option("--training/--no-training", default=True, show_default=True, help="Record the training thresholds.")
@click.option("--data", type=click.Path(file_okay=False), help="Local dataset folder (as for grade).")
def key_build_cmd(out, only, sandbox, training, data):
    """Grade the reference once, recording every value the checks need from it (values, never code)."""
    from . import key_build

    config = _key_config({"sandbox": sandbox, "training": training, "data": data})
    try:
        key = key_build.build(config, list(only) or None)
    except GraderFault as fault:
        _grader_fault(fault)
    except (KeyError, ValueError) as exc:
        _unusable(str(exc))
    folder = key.save(out)
    click.echo(f"answer key: {len(key.entries)} values, {len(key.tensors)} tensors -> {folder}")


@main.group("pack")
def pack_group() -> None:
    """Instructors: what a course hands out."""


@pack_group.command("student")
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--key",
    "key_dir",
    type=click.Path(exists=True, file_okay=False),
    help="An answer key from `divekit key build` (default: build one now, training included).",
)
@click.option("--title", default="divekit exercises", show_default=True, help="The student README's title.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True)
def pack_student_cmd(out, key_dir, title, sandbox):
    """Write OUT: the exercises, an installable grader without the solutions, the answer key,
    a student README and a GitHub Classroom workflow (a template repository)."""
    from . import key_build, pack
    from .framework.answer_key import AnswerKey, KeyMismatch

    try:
        if key_dir:
            key = AnswerKey.load(key_dir)
        else:
            key = key_build.build(_key_config({"sandbox": sandbox}))
        folder = pack.build(Path(out), key, title=title)
    except (KeyMismatch, pack.PackError) as exc:
        _unusable(str(exc))
    except GraderFault as fault:
        _grader_fault(fault)
    click.echo(f"student pack -> {folder} (answer key: {len(key.entries)} values; no solution code found in it)")


@main.group("gradescope")
def gradescope_group() -> None:
    """Instructors: the Gradescope autograder zip, and what it runs."""


@gradescope_group.command("build")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option(
    "--seed-file",
    type=click.Path(exists=True, dir_okay=False),
    help="A file holding the course's secret seed (default: $DIVEKIT_SEED; none: the public seed).",
)
def gradescope_build_cmd(out, seed_file):
    """Write OUT (a zip to upload as the assignment's autograder): setup.sh, run_autograder,
    the grader with the solutions, and the course's secret seed."""
    from . import gradescope

    seed = Path(seed_file).read_text(encoding="utf-8").strip() if seed_file else os.environ.get("DIVEKIT_SEED", "")
    path = gradescope.build(Path(out), seed=seed.strip())
    click.echo(f"Gradescope autograder -> {path} ({'secret seed included' if seed else 'public seed'})")


@gradescope_group.command("run")
@click.option("--root", type=click.Path(file_okay=False), default="/autograder", show_default=True)
def gradescope_run_cmd(root):
    """Grade ROOT/submission into ROOT/results/results.json (run_autograder calls this)."""
    from . import gradescope

    sys.exit(gradescope.run(Path(root)))


@main.command("doctor")
def doctor_cmd():
    """Which isolation this machine gives workers, and why; devices and data."""
    import torch

    from . import data
    from .sandbox import host
    from .sandbox.host import REQUIRE_ENV

    mode, why = choose_mode("auto")
    click.echo(f"sandbox: {mode} ({why})")
    h = host()
    click.echo(f"  bubblewrap: {h.bwrap_why}" + (f" [{h.bwrap_variant}]" if h.bwrap_ok else ""))
    click.echo(
        f"  workers under a uid of their own: {'yes' if (h.own_uid and (mode == 'bwrap' or h.process_uid)) else 'no'}"
    )
    click.echo(f"  Landlock (plain process mode): {f'ABI {h.landlock_abi}' if h.landlock_abi else 'unavailable'}")
    click.echo(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")
    click.echo(f"data root: {data.data_root()}")
    click.echo(f"Fashion-MNIST copy (${data.FASHION_ENV_VAR}): {os.environ.get(data.FASHION_ENV_VAR) or 'not set'}")
    click.echo(f"sandbox required (${REQUIRE_ENV}): {os.environ.get(REQUIRE_ENV) or 'no'}")


@main.group("dev")
def dev_group() -> None:
    """Maintainers: tools for authoring the course."""


@dev_group.command("check")
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False),
    default=str(REPO),
    show_default=True,
    help="The repository to inspect.",
)
@click.option("--static", "static_only", is_flag=True, help="Only the file inventory: skip grading (fast).")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True)
@click.option("--training/--no-training", default=True, show_default=True)
@click.option("--only", multiple=True, metavar="MODULE_OR_STUB", help="Grade only these (the inventory is whole).")
def dev_check_cmd(root, static_only, sandbox, training, only):
    """Every module complete (solution, checks, wrong and right variants, hint, points), no
    orphan file, exercises/ up to date; then every solution full marks, every stub 0."""
    from . import dev

    layout = dev.Layout(Path(root).resolve())
    inv = dev.inventory(layout)
    problems = dev.static_problems(layout, inv)
    if not static_only and not problems:
        try:
            problems = dev.graded_problems(
                layout, _config({"sandbox": sandbox, "training": training}), only=only, echo=click.echo
            )
        except GraderFault as fault:
            _grader_fault(fault)
    for p in problems:
        click.echo(f"problem: {p}")
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    stubs = sum(len(m.stubs) for m in inv.modules.values())
    click.echo(f"ok: {len(inv.modules)} modules, {stubs} stubs" + (" (static only)" if static_only else ""))


# -- the student's loop: graded hints and `divekit watch` (autograder/hints.py, watch.py) --


@main.command("hint")
@click.argument("stub_id", metavar="STUB")
@click.option("--reset", is_flag=True, help="Forget the hints revealed for STUB (start again from the first).")
@click.option("--path", type=click.Path(exists=True), default=str(EXERCISES), show_default=True)
@lang_option
def hint_cmd(stub_id, reset, path):
    """One more hint for STUB (e.g. linear_regression.linreg) each time; remembered per student."""
    from . import hints

    try:
        stub = hints.find_stub(stub_id)
    except KeyError as exc:
        click.echo(f"divekit: {exc.args[0]}", err=True)
        sys.exit(2)
    revealed = hints.Revealed(path)
    if reset:
        revealed.reset(stub)
        click.echo(f"{stub.id}: hints reset; `divekit hint {stub.id}` starts from the first again")
        return
    before = revealed.count(stub.id)
    now = revealed.reveal(stub)
    lang = hints.language()  # what --lang chose (i18n), else the environment
    from . import task_texts

    task = task_texts.summary(stub.id, path, lang)  # what the stub is to do, before how
    if task:
        click.echo(click.style(f"{stub.id}: {task}", bold=True))
    for line in hints.numbered(stub, lang, now)[: max(now - 1, 0) if now > before else now]:
        click.echo(click.style(line, dim=True))
    if now > before:
        click.echo(hints.numbered(stub, lang, now)[-1])
    click.echo(hints.more(stub, now, lang))


@main.command("watch")
@click.option("--path", type=click.Path(exists=True), default=str(EXERCISES), show_default=True)
@click.option(
    "--only", "only", multiple=True, metavar="MODULE_OR_STUB", help="Work through only these (e.g. linear_regression)."
)
@click.option("--training/--no-training", default=True, show_default=True, help="Run the training thresholds.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto")
@click.option("--data", type=click.Path(file_okay=False))
@click.option(
    "--key",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Grade from this answer key (default: as for check).",
)
@lang_option
def watch_cmd(path, only, training, sandbox, data, key):
    """Work through the exercises: the first stub that does not pass is checked each time its
    file is saved, then the next; Ctrl-C leaves."""
    from . import hints, watch

    try:
        stubs = watch.stubs_for(list(only) or None)
        folder = watch.check_exercises(path)
    except KeyError as exc:
        _unusable(f"--only {exc.args[0]!r} names no module, stub or task (see `divekit list`)")
    except intake.UnusableSubmission as exc:
        _unusable(str(exc))
    config = _config({"sandbox": sandbox, "device": "auto", "training": training, "data": data, "key": key})
    try:
        sys.exit(watch.Watch(folder, stubs, config, lang=hints.language()).run())
    except GraderFault as fault:
        _grader_fault(fault)


@main.command("audit")
@click.argument("names", nargs=-1, metavar="[MODULE_OR_STUB ...]")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Which mutants are drawn (the same seed, the same mutants)."
)
@click.option(
    "--max-mutants", type=click.IntRange(min=1), default=10, show_default=True, help="Mutants per stub at most."
)
@click.option("--all-mutants", is_flag=True, help="Every mutant (no --max-mutants budget).")
@click.option("--time", "seconds", type=click.FloatRange(min=1), help="Stop starting mutants after this many seconds.")
@click.option(
    "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Mutants graded at once (processes)."
)
@click.option("--training/--no-training", default=False, show_default=True, help="Run the training thresholds too.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True)
@click.option(
    "--results",
    type=click.Path(dir_okay=False),
    default="out/audit/results.jsonl",
    show_default=True,
    help="Where finished mutants are kept: a rerun grades only what is not there.",
)
@click.option(
    "--regrade",
    "redo",
    multiple=True,
    type=click.Choice(["survived", "equivalent", "crashed"]),
    help="Grade the stored mutants with this status again (repeatable).",
)
@click.option("--report-only", is_flag=True, help="Grade nothing: report what the results file holds.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report here (default: standard output).")
def audit_cmd(
    names, seed, max_mutants, all_mutants, seconds, jobs, training, sandbox, results, redo, report_only, fmt, out
):
    """Mutation testing of the checks: grade mutants of the reference solutions and report,
    per stub, how many the checks kill (survivors with their diffs first)."""
    from . import audit

    config = _config({"sandbox": sandbox, "training": training, "seed": ""})

    def progress(o) -> None:
        click.echo(f"{o.ident:<40} {o.status:<10} {o.score:g}/{o.max_score:g} ({o.seconds:.1f} s)", err=True)

    try:
        report = audit.audit(
            list(names) or None,
            config,
            seed=seed,
            max_mutants=None if all_mutants else max_mutants,
            seconds=0 if report_only else seconds,
            jobs=jobs,
            results=Path(results),
            progress=progress,
            redo=frozenset(redo),
        )
    except KeyError as exc:
        _unusable(f"no module, stub or task is called {exc}")
    rendered = audit.FORMATS[fmt](report)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(rendered, encoding="utf-8")
        click.echo(f"audit report -> {out}", err=True)
    else:
        click.echo(rendered, nl=False)


# -- nbgrader (autograder/notebooks/) ---------------------------------------------------
@main.group("nbgrader")
def nbgrader_group() -> None:
    """Instructors: the course as nbgrader notebooks, and grading them in divekit's sandbox."""


@nbgrader_group.command("export")
@click.argument("course", type=click.Path(file_okay=False))
@click.option("--assignment", default="divekit", show_default=True, help="The nbgrader assignment to write.")
@click.option("--only", multiple=True, metavar="MODULE", help="Only these modules (default: every module that fits).")
@click.option("--training/--no-training", default=False, show_default=True, help="Test cells run the training checks.")
@click.option("--examples", type=click.IntRange(1, 1000), default=25, show_default=True)
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True)
def nbgrader_export_cmd(course, assignment, only, training, examples, sandbox):
    """Write COURSE/nbgrader_config.py and COURSE/source/ASSIGNMENT/<module>.ipynb from the solutions."""
    from .notebooks.export import ExportError, export

    grading = {"training": training, "examples": examples, "sandbox": sandbox}
    try:
        done = export(Path(course), assignment, list(only) or None, grading)
    except ExportError as exc:
        _unusable(str(exc))
    for note in done.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{len(done.notebooks)} notebook(s) -> {Path(course) / 'source' / assignment}")


@nbgrader_group.command("autograde")
@click.argument("assignment")
@click.option(
    "--course",
    type=click.Path(exists=True, file_okay=False),
    default=".",
    show_default=True,
    help="The nbgrader course folder (where nbgrader_config.py and gradebook.db are).",
)
@click.option("--jobs", type=click.IntRange(1, 256), default=1, show_default=True, help="Students graded at once.")
def nbgrader_autograde_cmd(assignment, course, jobs):
    """Grade COURSE/submitted/<student>/ASSIGNMENT/ in divekit's sandbox and write the scores
    and comments into COURSE/gradebook.db (then: nbgrader generate_feedback, nbgrader export).

    Grading options are those `divekit nbgrader export` recorded; the secret seed is
    $DIVEKIT_SEED. Exits 0 when every student was graded, 1 when the grader failed on some
    (they are left for manual grading, not scored), 2 for a course it cannot use.
    """
    from .notebooks.export import ExportError, assignment_settings
    from .notebooks.trusted import autograde

    try:
        grading = assignment_settings(Path(course), assignment)["grading"]
    except ExportError as exc:
        _unusable(str(exc))
    config = _config(
        {
            "sandbox": grading.get("sandbox", "auto"),
            "training": bool(grading.get("training")),
            "examples": int(grading.get("examples", 25)),
        }
    )
    try:
        grades = autograde(Path(course), assignment, config, jobs=jobs, progress=lambda ln: click.echo(ln, err=True))
    except ExportError as exc:
        _unusable(str(exc))
    failed = [g.student for g in grades if g.status == "error"]
    click.echo(f"{len(grades)} student(s) -> {Path(course) / 'gradebook.db'}")
    if failed:
        click.echo(f"not scored (a fault of the grader, left for manual grading): {', '.join(failed)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
