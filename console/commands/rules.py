"""Command group ``rules``: check, show, test and load rule packs."""

from __future__ import annotations

import typer

from promoflow.console.commands._context import runtime
from promoflow.engine import rules_engine
from promoflow.engine.packs.store import active_pack, ensure_compiles, store_pack
from promoflow.errors import NotFoundError, PackError, Problem
from promoflow.rules.examples import run_examples
from promoflow.rules.packs import TRACKS, bundled_packs, line_map, line_of, load_pack_file
from promoflow.rules.render import render_pack

rules_app = typer.Typer(help="Rule packs: check a file, show a track's rules, run examples.")


def _active(ctx: typer.Context, track: str):
    """The active pack of a track: from the database when it is set up, else the bundled one."""
    rt = runtime(ctx)
    try:
        if rt.schema_ready():
            with rt.unit_of_work() as session:
                return active_pack(session, track)
        return bundled_packs()[track]
    except KeyError:
        raise NotFoundError(f"no rule pack for track {track!r}") from None


@rules_app.command("check")
def check(file: str = typer.Argument(..., help="Rule pack YAML file to validate.")) -> None:
    """Validate a pack file and its example cases; exit 2 listing every problem."""
    try:
        pack = load_pack_file(file)
    except PackError as error:
        problems = error.problems or [Problem(str(error), file=file)]
        for problem in problems:
            typer.echo(str(problem))
        typer.echo(f"{len(problems)} problem(s)")
        raise typer.Exit(2) from None
    lines = line_map(pack.source)
    failed = []
    try:
        ensure_compiles(pack)
    except PackError as error:
        failed.extend(error.problems)
    for i, run in enumerate(run_examples(pack)):
        if not run.passed:
            msg = f"example {run.example.name!r}: " + "; ".join(run.differences)
            failed.append(Problem(msg, file=file, line=line_of(lines, ("examples", i))))
    if failed:
        for problem in failed:
            typer.echo(str(problem))
        typer.echo(f"{len(failed)} problem(s)")
        raise typer.Exit(2)
    typer.echo(
        f"ok: {file} — pack {pack.id}, version {pack.version[:12]}, "
        f"{len(pack.rules)} rules, {len(pack.examples)} examples"
    )


@rules_app.command("show")
def show(
    ctx: typer.Context,
    track: str = typer.Argument(..., help="Track id: sales, support, cs, cs_rating, cs_assistant."),
    lang: str = typer.Option("zh", "--lang", help="zh or en."),
) -> None:
    """Print a track's active pack as an HR officer reads it."""
    if lang not in ("zh", "en"):
        raise typer.BadParameter("use --lang zh or --lang en")
    typer.echo(render_pack(_active(ctx, track), lang))


@rules_app.command("test")
def test(
    ctx: typer.Context,
    track: str | None = typer.Argument(None, help="One track; default every bundled track."),
) -> None:
    """Run the packs' example cases through durable_rules; exit 1 if any fails."""

    def durable(pack, kind, grade, facts):
        return rules_engine.verdicts(pack, kind, [("example", grade, facts)])["example"]

    failed = total = 0
    for name in [track] if track else list(TRACKS):
        pack = _active(ctx, name)
        for run in run_examples(pack, durable):
            total += 1
            mark = "ok  " if run.passed else "FAIL"
            typer.echo(f"{mark} {pack.id}: {run.example.name}")
            if not run.passed:
                failed += 1
                for diff in run.differences:
                    typer.echo(f"       {diff}")
    typer.echo(f"{total - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@rules_app.command("load")
def load(ctx: typer.Context, file: str = typer.Argument(..., help="Rule pack YAML file.")) -> None:
    """Validate a pack file and make it the active version of its track (open cycles keep
    the version they pinned)."""
    pack = load_pack_file(file)
    rt = runtime(ctx)
    with rt.unit_of_work() as session:
        store_pack(session, pack, rt.now(), rt.actor)
    typer.echo(f"loaded {pack.id} version {pack.version[:12]}")


def register(app: typer.Typer) -> None:
    """Add the ``rules`` group to the CLI."""
    app.add_typer(rules_app, name="rules")
