"""`zhucun cycle run`, `zhucun evaluate`, `zhucun causes override` and `zhucun demo`.

Flows are imported inside the commands (never at import time) so that `--data-dir` and the
Prefect environment are settled first. Without PREFECT_API_URL, Prefect runs the flows on a
temporary local server (a few seconds to start); with `zhucun up` running, set
PREFECT_API_URL to watch them in the UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.output import console, emit_json, fail

cycle_app = typer.Typer(
    rich_markup_mode="markdown", help="Run the assistance cycle of a county.", no_args_is_help=True
)
causes_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Household causes of poverty (致贫原因).",
    no_args_is_help=True,
)

CountyOpt = Annotated[str, typer.Option("--county", help="6-digit county code, e.g. 522626")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON")]


def _scope(county: str, villages: list[str] | None = None) -> Any:
    from pydantic import ValidationError

    from tasks.common import Scope

    try:
        return Scope(county=county, villages=villages)
    except ValidationError as exc:
        fail("; ".join(e["msg"] for e in exc.errors()), code=2)


def _known_scope(county: str, villages: list[str] | None = None) -> Any:
    """A scope of a county the database holds (a run on another fails in a task)."""
    from zhucun.cli.guards import require_county

    scope = _scope(county, villages)
    require_county(scope.county)
    return scope


@cycle_app.command("run")
def cycle_run(
    county: CountyOpt,
    year: Annotated[int, typer.Option("--year", help="Cycle year, e.g. 2026")],
    village: Annotated[
        list[str] | None,
        typer.Option("--village", help="Only this village (12 digits); repeat for several"),
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option("--decisions", help="decisions.csv for the review stage (see README)"),
    ] = None,
    via_deployment: Annotated[
        bool,
        typer.Option(
            "--via-deployment",
            help="Start the cycle through its deployment on the running server (`zhucun up`), "
            "once per county and year",
        ),
    ] = False,
    wait_for_review: Annotated[
        bool,
        typer.Option(
            "--wait-for-review",
            help="After drafting, pause for review forms in the Prefect UI (this process "
            "waits); without it the review is opened and left waiting",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Causes → village analysis → dispatch → plans → household strategies → review, for one
    county (or some of its villages) and one cycle year. With --decisions the review runs
    unattended from meeting minutes. Safe to re-run: it completes what is missing and
    changes nothing else."""
    scope = _known_scope(county, village)
    if decisions is not None and not decisions.is_file():
        fail(f"decisions file {decisions} not found", code=2)
    if via_deployment:
        _via_deployment(scope, year, decisions, as_json)
        return
    from flows.cycle import assistance_cycle

    summary = assistance_cycle(
        county=scope.county,
        cycle_year=year,
        villages=scope.villages,
        decisions_file=str(decisions) if decisions else None,
        wait_for_review=wait_for_review,
    )
    if as_json:
        emit_json(summary)
        return
    print_cycle(summary)


def _via_deployment(scope: Any, year: int, decisions: Path | None, as_json: bool) -> None:
    if scope.villages:
        fail("--via-deployment runs the whole county: drop --village", code=2)
    try:
        from deployments.trigger import run_cycle_via_deployment
    except ImportError as exc:
        fail(f"--via-deployment is not available in this installation ({exc})", code=2)
        return
    try:
        run_id = run_cycle_via_deployment(
            county=scope.county,
            cycle_year=year,
            decisions_file=str(decisions) if decisions else None,
        )
    except Exception as exc:  # noqa: BLE001 - no server, no deployment: say so plainly
        fail(f"could not run the cycle through its deployment: {exc}")
        return
    if as_json:
        emit_json({"flow_run_id": str(run_id)})
    else:
        console.print(f"assistance cycle flow run [bold]{run_id}[/]")


def print_cycle(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"Assistance cycle {summary['county']} {summary['cycle_year']}")
    table.add_column("stage")
    table.add_column("result")
    for name, data in summary["stages"].items():
        shown = {
            k: v
            for k, v in (data or {}).items()
            if isinstance(v, int | float | str) and k not in ("stage", "county", "cycle_year")
        }
        table.add_row(name, ", ".join(f"{k} {_fmt(v)}" for k, v in shown.items()))
    console.print(table)
    console.print(f"review: {summary.get('review', '')}")


def _fmt(v: Any) -> str:
    return f"{v:,.0f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)


def evaluate_command(
    county: CountyOpt,
    period: Annotated[str, typer.Option("--period", help="Month evaluated, YYYY-MM")],
    as_json: JsonOpt = False,
) -> None:
    """Evaluate every registered household of the county for a month from its latest
    surveys: exit, remain, monitor (relapse risk) or relapse; village exit eligibility."""
    scope = _known_scope(county)
    from flows.lifecycle_common import check_period

    try:
        check_period(period)
    except ValueError as exc:
        fail(str(exc), code=2)
    from flows.evaluation import evaluate_progress

    result = evaluate_progress(county=scope.county, period=period)
    if as_json:
        emit_json(result)
        return
    print_evaluation(scope.county, result)


def print_evaluation(county: str, result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"Progress evaluation {county} {result['period']}")
    table.add_column("outcome")
    table.add_column("households", justify="right")
    for k in ("exit", "remain", "monitor", "relapse"):
        table.add_row(k, f"{result['outcomes'].get(k, 0):,}")
    console.print(table)
    m = result["monitoring"]
    console.print(
        f"evaluated {result['evaluated']:,} (already evaluated {result['already_evaluated']:,}); "
        f"monitoring cases opened {m.get('opened', 0):,}, closed {m.get('closed', 0):,}; "
        f"villages exit-eligible {result['exit_eligible_villages']:,} "
        f"(new: {len(result['newly_exit_eligible'])})"
    )


@causes_app.command("override")
def causes_override(
    household_id: Annotated[str, typer.Argument(help="户编号 of the household")],
    year: Annotated[int, typer.Option("--year", help="Cycle year")],
    main: Annotated[str, typer.Option("--main", help="Main cause (A3a), e.g. illness")],
    reason: Annotated[str, typer.Option("--reason", help="Why the team overrides the rules")],
    by: Annotated[str, typer.Option("--by", help="cadre_id of the team member deciding")],
    other: Annotated[
        list[str] | None,
        typer.Option("--other", help="Other cause (A3b), at most two; repeat the option"),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Record causes that contradict the household's data (因病 with nobody ill…); "
            "the override records that it went against the data",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record the team's override of a household's causes (source `override`, with reason
    and author). Later runs of the cycle keep it. Causes the household's own data
    contradict are refused unless --force."""
    from tasks.causes import OverrideRefused, record_override
    from zhucun.db import session_scope

    try:
        with session_scope() as session:
            result = record_override(
                session,
                household_id=household_id,
                cycle_year=year,
                main_cause=main,
                other_causes=list(other or []),
                reason=reason,
                by=by,
                force=force,
            )
    except (OverrideRefused, LookupError) as exc:
        fail(f"override refused: {exc}", code=2)
        return
    if as_json:
        emit_json(result)
        return
    others = ", ".join(result["other_causes"]) or "none"
    console.print(
        f"{household_id} {year}: main cause [bold]{main}[/], other causes {others} "
        f"(override by {by}, recorded)"
    )
    if result.get("against_data"):
        console.print("recorded against the data: " + "; ".join(result["against_data"]))


def demo_command(
    county: Annotated[str, typer.Option("--county", help="A national poverty county")] = "522626",
    households: Annotated[
        int, typer.Option("--households", min=1, help="Registered poor households")
    ] = 2000,
    year: Annotated[int, typer.Option("--year", help="Cycle year")] = 2026,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """The whole job on a generated county: generate its registry into the data directory,
    create the database, import, run the assistance cycle (dispatch, analysis, causes,
    plans, strategies), review it from drafted meeting minutes, evaluate the surveys'
    latest month, and print what happened."""
    import time

    from zhucun.cli.guards import mark_demo, refuse_foreign_data
    from zhucun.settings import get_settings

    scope = _scope(county)
    refuse_foreign_data()
    out = get_settings().data_dir / "demo" / f"{scope.county}-{households}-{seed}"
    steps: dict[str, Any] = {}
    t0 = time.perf_counter()

    from zhucun.generator import UnknownCountyError, generate

    try:
        gen = generate(scope.county, out, seed=seed, households=households, year=year)
    except (UnknownCountyError, ValueError) as exc:
        fail(str(exc), code=2)
        return
    steps["generate"] = {"folder": str(out), "rows": dict(gen.rows)}
    if not as_json:
        console.print(f"generated {gen.county_name} ({scope.county}) into {out}")

    from zhucun.migrate import upgrade

    upgrade()
    mark_demo(scope.county)  # before the import: the county is demo data from here on
    from zhucun.exchange.importer import ImportError_, import_folder

    try:
        imported = import_folder(out)
    except ImportError_ as exc:
        fail(f"import failed: {exc}")
        return
    if not imported.ok:
        fail("import failed: " + "; ".join(imported.errors[:5]))
    steps["import"] = imported.as_dict()
    if not as_json:
        console.print(f"imported {out}")

    from flows.cycle import assistance_cycle
    from flows.evaluation import evaluate_progress

    cycle = assistance_cycle(county=scope.county, cycle_year=year)
    steps["cycle"] = cycle
    steps["review"] = demo_review(scope.county, year, out / "decisions.csv")
    period = latest_survey_period(scope.county)
    if period is not None:
        steps["evaluation"] = evaluate_progress(county=scope.county, period=period)
    steps["seconds"] = round(time.perf_counter() - t0, 1)
    if as_json:
        emit_json(steps)
        return
    print_cycle(cycle)
    r = steps["review"]
    console.print(
        f"review: minutes {r['minutes']} ({r['decisions']} decisions) applied; "
        f"strategies by status {r['strategies']}; plans by status {r['plans']}"
    )
    if period is not None:
        print_evaluation(scope.county, steps["evaluation"])
    else:
        console.print("no surveys imported: evaluation skipped")
    console.print(f"done in {steps['seconds']} s; data directory {get_settings().data_dir}")


def demo_review(county: str, year: int, minutes: Path) -> dict[str, Any]:
    """The review meeting of the demo: draft minutes approving what waits (each stage signed
    by someone allowed to sign it), then run the review stage with them, unattended."""
    from datetime import date

    from sqlalchemy import func, select

    from flows.review import review_cycle
    from models import Plan, Strategy
    from tasks.review_minutes import draft_minutes, write_minutes
    from zhucun.db import session_scope

    with session_scope() as session:
        rows = draft_minutes(session, county=county, cycle_year=year, decided_on=date.today())
    write_minutes(rows, minutes)
    review_cycle(county=county, cycle_year=year, decisions_file=str(minutes))
    with session_scope() as session:
        counts = {
            name: dict(
                session.execute(
                    select(model.status, func.count())
                    .where(model.cycle_year == year, model.village_code.like(f"{county}%"))
                    .group_by(model.status)
                ).all()
            )
            for name, model in (("strategies", Strategy), ("plans", Plan))
        }
    return {"minutes": str(minutes), "decisions": len(rows), **counts}


def latest_survey_period(county: str) -> str | None:
    """The month of the county's latest survey (the demo evaluates the data it has)."""
    from sqlalchemy import func, select

    from models import Household, Survey
    from zhucun.db import session_scope

    with session_scope() as session:
        latest = session.execute(
            select(func.max(Survey.survey_date))
            .join(Household, Household.household_id == Survey.household_id)
            .where(Household.village_code.like(f"{county}%"))
        ).scalar()
    return f"{latest:%Y-%m}" if latest else None


def register(app: typer.Typer) -> None:
    app.add_typer(cycle_app, name="cycle")
    app.add_typer(causes_app, name="causes")
    app.command("evaluate")(evaluate_command)
    app.command("demo")(demo_command)
