"""`zhucun review import` and `zhucun review minutes`: the decisions file of a review
meeting — drafted for every waiting item, edited to what the meeting decided, applied all
or nothing through the same validation as a UI decision (see `commands_review`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.commands_review import (
    county_or_only,
    parse_date,
    resume_runs,
    review_app,
    year_or_latest,
)
from zhucun.cli.output import emit_json, err_console, say
from zhucun.labels import tr


def review_import(
    path: Annotated[Path, typer.Argument(help="decisions.csv (meeting minutes)")],
    year: Annotated[int | None, typer.Option(help="Cycle year (default: latest)")] = None,
    county: Annotated[str | None, typer.Option(help="Only rows of this county")] = None,
    resume: Annotated[bool, typer.Option(help="Resume a waiting review run afterwards")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """All or nothing: every row is judged exactly as a UI decision; if any row is refused
    nothing is applied and every refusal is listed as file:row:column: rule."""
    from zhucun.db import session_scope
    from zhucun.tasks.review import apply_decisions_file

    with session_scope() as session:
        cy = year_or_latest(session, year)
        res = apply_decisions_file(session, path, cycle_year=cy, county=county)
        counts = res.result.counts() if res.result else {"applied": False}
        counties = _counties_of(session, cy, res.result.outcomes if res.result else [])
        if not res.ok:
            session.rollback()
    resumed: list[str] = []
    if res.ok and resume and counts.get("accepted"):
        for c in [county] if county else counties:
            resumed += resume_runs(c)
    if as_json:
        emit_json({"ok": res.ok, "errors": res.errors, **counts, "resumed_runs": resumed})
    elif res.already_applied:
        say(f"{path.name}: {res.already_applied}" + tr("；未作任何更改", "; nothing changed"))
    elif res.ok:
        n, skipped = counts.get("accepted", 0), counts.get("skipped", 0)
        say(
            tr(
                f"{path.name}：已执行 {n} 项决定，{skipped} 项此前已执行",
                f"{path.name}: {n} decisions applied, {skipped} already applied",
            )
        )
    else:
        for e in res.errors:  # file:row:column: rule, verbatim
            err_console.print(e, markup=False, highlight=False, soft_wrap=True)
        err_console.print(
            tr(
                f"{path.name}：{len(res.errors)} 处错误，未执行任何决定",
                f"{path.name}: {len(res.errors)} errors, nothing applied",
            ),
            markup=False,
        )
    if not res.ok:
        raise typer.Exit(1)


def _counties_of(session: Any, cycle_year: int, outcomes: list[Any]) -> list[str]:
    """Counties of the decided items (a household ID does not carry its county: ask the
    strategy; a plan's subject is its village code), whose waiting review runs to resume."""
    from sqlalchemy import select

    from zhucun.models import Strategy

    households = [o.request.subject_id for o in outcomes if o.request.subject == "strategy"]
    villages = {o.request.subject_id for o in outcomes if o.request.subject == "plan"}
    for part in range(0, len(households), 500):
        villages |= set(
            session.scalars(
                select(Strategy.village_code).where(
                    Strategy.cycle_year == cycle_year,
                    Strategy.household_id.in_(households[part : part + 500]),
                )
            )
        )
    return sorted({v[:6] for v in villages if v[:6].isdigit()})


def review_minutes(
    out: Annotated[Path, typer.Option("--out", help="Where to write decisions.csv")],
    county: Annotated[str | None, typer.Option(help="County code (default: the only one)")] = None,
    year: Annotated[int | None, typer.Option(help="Cycle year (default: latest)")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Meeting date YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Draft the minutes of a review meeting: decisions.csv approving every waiting item,
    each stage signed by someone who may sign it (never a near relative, never one person
    for two stages). Edit it to what the meeting decided, then `zhucun review import`."""
    from zhucun.db import session_scope
    from zhucun.tasks.review_minutes import draft_minutes, write_minutes

    with session_scope() as session:
        cy = year_or_latest(session, year)
        code = county_or_only(session, county, None)
        rows = draft_minutes(session, county=code, cycle_year=cy, decided_on=parse_date(on))
    write_minutes(rows, out)
    if as_json:
        emit_json({"file": str(out), "rows": len(rows)})
    else:
        say(
            tr(
                f"{out}：已为 {code} {cy} 年度草拟 {len(rows)} 项决定",
                f"{out}: {len(rows)} decisions drafted for {code} {cy}",
            )
        )


def register(app: typer.Typer) -> None:
    """Add `import` and `minutes` to `zhucun review` (after `list` and `decide`)."""
    review_app.command("import")(review_import)
    review_app.command("minutes")(review_minutes)
