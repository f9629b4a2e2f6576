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

from zhucun.cli.output import emit_json, fail, say
from zhucun.reports import cycle_summary
from zhucun.reports.cycle_summary import describe_stage

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

    from zhucun.tasks.common import Scope

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
    from zhucun.flows.cycle import assistance_cycle

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
        from zhucun.deployments.trigger import run_cycle_via_deployment
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
        from zhucun.labels import tr

        say(tr(f"帮扶周期流程已启动：{run_id}", f"assistance cycle flow run {run_id}"))


def print_cycle(summary: dict[str, Any], *, review_line: bool = True) -> None:
    """A row per stage in words (never a dict or a snake_case key), then where the review
    stands — unless the caller (the demo) reports the review itself."""
    from zhucun.cli.output import Col, print_table
    from zhucun.labels import label, tr

    rows = [
        [label("cycle_stage", name), describe_stage(name, data or {})]
        for name, data in summary["stages"].items()
        if name != "review"
    ]
    title = tr(
        f"{summary['county']} {summary['cycle_year']} 年度帮扶周期",
        f"Assistance cycle {summary['county']} {summary['cycle_year']}",
    )
    print_table(title, [Col("stage"), Col("result")], rows)
    if review_line:
        say(cycle_summary.review_line(summary), wrap=True)


def evaluate_command(
    county: CountyOpt,
    period: Annotated[str, typer.Option("--period", help="Month evaluated, YYYY-MM")],
    as_json: JsonOpt = False,
) -> None:
    """Evaluate every registered household of the county for a month from its latest
    surveys: exit, remain, monitor (relapse risk) or relapse; village exit eligibility."""
    scope = _known_scope(county)
    from zhucun.flows.lifecycle_common import check_period

    try:
        check_period(period)
    except ValueError as exc:
        fail(str(exc), code=2)
    from zhucun.flows.evaluation import evaluate_progress

    result = evaluate_progress(county=scope.county, period=period)
    if as_json:
        emit_json(result)
        return
    print_evaluation(scope.county, result)


def print_evaluation(county: str, result: dict[str, Any]) -> None:
    from zhucun.cli.output import Col, print_table
    from zhucun.labels import label, tr

    period = result["period"]
    rows = [
        [label("evaluation_outcome", k), f"{result['outcomes'].get(k, 0):,}"]
        for k in ("exit", "remain", "monitor", "relapse")
    ]
    title = tr(f"{county} {period} 成效评估", f"Progress evaluation {county} {period}")
    print_table(title, [Col("outcome"), Col("households", "num")], rows)
    say(evaluation_line(result), wrap=True)


def evaluation_line(result: dict[str, Any]) -> str:
    from zhucun.labels import tr

    m, new = result["monitoring"], len(result.get("newly_exit_eligible") or [])
    return tr(
        f"评估 {result['evaluated']:,} 户（此前已评估 {result['already_evaluated']:,}）；"
        f"有返贫风险 {m.get('at_risk_reported', 0):,} 户（由月度监测识别，评估不纳入）；"
        f"符合退出条件的村 {result['exit_eligible_villages']:,} 个（新增 {new}）",
        f"evaluated {result['evaluated']:,} (already evaluated {result['already_evaluated']:,}); "
        f"at risk of relapse {m.get('at_risk_reported', 0):,} (reported: the monthly "
        f"monitoring identifies); villages exit-eligible "
        f"{result['exit_eligible_villages']:,} (new: {new})",
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
    from zhucun.db import session_scope
    from zhucun.tasks.causes import OverrideRefused, record_override

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
    from zhucun.labels import label, tr

    others = "、".join(label("cause", c) for c in result["other_causes"]) or tr("无", "none")
    say(
        tr(
            f"{household_id} {year}：主要致贫原因 {label('cause', main)}，其他 {others}"
            f"（{by} 调整，已记录）",
            f"{household_id} {year}: main cause {label('cause', main)}, other causes {others} "
            f"(override by {by}, recorded)",
        )
    )
    if result.get("against_data"):
        say(
            tr("与户数据不符，仍已记录：", "recorded against the data: ")
            + "; ".join(result["against_data"])
        )


def __getattr__(name: str) -> Any:
    """`zhucun demo` lives in commands_demo; older imports from here keep working."""
    if name in ("demo_command", "demo_review", "latest_survey_period"):
        from zhucun.cli import commands_demo

        return getattr(commands_demo, name)
    raise AttributeError(name)


def register(app: typer.Typer) -> None:
    app.add_typer(cycle_app, name="cycle")
    app.add_typer(causes_app, name="causes")
    app.command("evaluate")(evaluate_command)
    from zhucun.cli.commands_demo import demo_command

    app.command("demo")(demo_command)
