"""`zhucun review list` and `zhucun review decide`: what an approver uses. The meeting
minutes and decisions files are in `commands_review_files`, publicity (公示), its notice and
objections in `commands_review_publicity`; all three add their commands to `review_app`.

Every decision goes through `tasks.review.decide`, the same validation as the Prefect UI
form and decisions files, and lands in the same ledger. After recording, `decide` and
`import` resume a waiting review run of the county (if a Prefect server is configured), so
the run re-reads the database and moves on."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any

import typer

from zhucun.cli.output import clean, console, emit_json, err_console, fail, say

review_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Review household strategies and village plans (team ▸ committee ▸ township ▸ "
    "county), publicity (公示) and objections.",
    no_args_is_help=True,
)

Stage = Annotated[str, typer.Option("--stage", help="team / committee / township / county")]


def year_or_latest(session: Any, year: int | None) -> int:
    if year is not None:
        return year
    from sqlalchemy import func, select

    from zhucun.models import Strategy

    found = session.scalar(select(func.max(Strategy.cycle_year)))
    if found is None:
        fail("no strategies in the database: give --year")
    return int(found)


def county_or_only(session: Any, county: str | None, village: str | None) -> str:
    from sqlalchemy import select

    from zhucun.models import County
    from zhucun.settings import get_settings

    if village:
        return village[:6]
    if county or get_settings().county:
        return str(county or get_settings().county)
    codes = list(session.scalars(select(County.county_code).limit(2)))
    if len(codes) != 1:
        fail("several counties (or none) in the database: give --county or --village")
    return codes[0]


@review_app.command("list")
def review_list(
    village: Annotated[str | None, typer.Option(help="Village code (12 digits)")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only stages past deadline")] = False,
    county: Annotated[str | None, typer.Option(help="County code (6 digits)")] = None,
    year: Annotated[int | None, typer.Option(help="Cycle year (default: latest)")] = None,
    limit: Annotated[int, typer.Option(help="Rows shown in the table (JSON: all)")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Show every column, however wide")] = False,
) -> None:
    """Items waiting for review: stage, who decides (escalations), since when, overdue."""
    from zhucun.db import session_scope

    with session_scope() as session:
        cy = year_or_latest(session, year)
        code = county_or_only(session, county, village)
        rows = pending_rows(session, code, cy, village=village, stage=stage)
    if overdue:
        rows = [r for r in rows if r["overdue"]]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        from zhucun.labels import tr

        say(
            tr("没有待审核事项", "nothing waits for review")
            + (tr("（无超期）", " past its deadline") if overdue else "")
        )
        return
    print_pending(rows, code, cy, limit=limit, wide=wide)


def print_pending(
    rows: list[dict[str, Any]], county: str, year: int, *, limit: int, wide: bool
) -> None:
    """The waiting items, fitted to the terminal: ID, village (code and name) and stage
    always; at 80 columns the version, the decider and the entry time give way first."""
    from zhucun.cli.output import Col, place_names, print_table
    from zhucun.labels import label, local_time, tr

    places = place_names(r["village"] for r in rows[:limit])
    cols = [
        Col("id", "id"),
        Col("village", "text"),
        Col("stage", "text"),
        Col("subject", "text", drop=3),
        Col("name", "text", drop=2),
        Col("version", "num", drop=6),
        Col("decided_by", "text", drop=4),
        Col("since", "text", drop=5),
        Col("waiting", "num", drop=1),
        Col("overdue", "text"),
    ]
    data = [
        [
            r["subject_id"],
            places.get(r["village"], r["village"]),
            label("review_stage", r["stage"]),
            label("subject", r["subject"]),
            r["name"] or "",
            str(r["version"]),
            label("review_stage", r["decider"]),
            local_time(r["entered_at"]),
            tr(f"{r['waiting_days']} 天", f"{r['waiting_days']} d"),
            tr("超期", "OVERDUE") if r["overdue"] else "",
        ]
        for r in rows[:limit]
    ]
    title = tr(
        f"待审核 {county} {year}：{len(rows)} 项", f"Review {county} {year}: {len(rows)} waiting"
    )
    print_table(title, cols, data, wide=wide)
    if len(rows) > limit:
        say(
            tr(
                f"… 另有 {len(rows) - limit} 项（用 --json 或 --village 查看）",
                f"… {len(rows) - limit} more (use --json or --village)",
            )
        )


def pending_rows(
    session: Any,
    county: str,
    cycle_year: int,
    *,
    village: str | None = None,
    stage: str | None = None,
) -> list[dict[str, Any]]:
    """One row per waiting item (after bringing the stage clocks up to date)."""
    from sqlalchemy import select

    from zhucun.models import Household, ReviewEscalation, ReviewState, Village
    from zhucun.rules import review as rules
    from zhucun.tasks.common import now
    from zhucun.tasks.review import policy_for, sync_states, villages_of

    policy = policy_for(session, county, cycle_year)
    codes = [village] if village else villages_of(session, county, None)
    for part in range(0, len(codes), 200):
        sync_states(session, cycle_year, codes[part : part + 200], policy=policy)
    at = now()
    esc = {
        (r.subject, r.subject_id, r.stage): r.level
        for r in session.execute(
            select(
                ReviewEscalation.subject,
                ReviewEscalation.subject_id,
                ReviewEscalation.stage,
                ReviewEscalation.level,
            ).where(
                ReviewEscalation.cycle_year == cycle_year,
                ReviewEscalation.village_code.like(f"{county}%"),
            )
        )
    }
    stmt = (
        select(
            ReviewState.village_code,
            ReviewState.stage,
            ReviewState.subject,
            ReviewState.subject_id,
            ReviewState.version,
            ReviewState.entered_at,
            Household.head_name,
            Village.name,
        )
        .outerjoin(
            Household,
            (ReviewState.subject == "strategy")
            & (Household.household_id == ReviewState.subject_id),
        )
        .join(Village, Village.village_code == ReviewState.village_code)
        .where(
            ReviewState.cycle_year == cycle_year,
            ReviewState.stage.is_not(None),
            ReviewState.village_code.like(f"{county}%"),
        )
        .order_by(ReviewState.village_code, ReviewState.stage, ReviewState.subject_id)
    )
    if village:
        stmt = stmt.where(ReviewState.village_code == village)
    if stage:
        stmt = stmt.where(ReviewState.stage == stage)
    out = []
    for r in session.execute(stmt):
        entered = r.entered_at if r.entered_at.tzinfo else r.entered_at.replace(tzinfo=at.tzinfo)
        out.append(
            dict(
                village=r.village_code,
                stage=r.stage,
                subject=r.subject,
                subject_id=r.subject_id,
                name=r.head_name if r.subject == "strategy" else r.name,
                version=r.version,
                decider=esc.get((r.subject, r.subject_id, r.stage), r.stage),
                entered_at=entered.isoformat(timespec="seconds"),
                waiting_days=(at - entered).days,
                overdue=rules.is_overdue(entered, at, policy),
            )
        )
    return out


@review_app.command("decide")
def review_decide(
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your cadre ID or person ID")],
    stage: Stage,
    decision: Annotated[str, typer.Option("--decision", help="approve / reject / return")],
    village: Annotated[str | None, typer.Option(help="Village code (with --all or --plan)")] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all", help="Approve every item of the village at this stage that your level decides"
        ),
    ] = False,
    household: Annotated[
        list[str] | None, typer.Option("--household", help="Household ID (repeat for several)")
    ] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Decide the village's plan")] = False,
    reason: Annotated[str | None, typer.Option(help="Required unless approving")] = None,
    year: Annotated[int | None, typer.Option(help="Cycle year (default: latest)")] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            help="Decision date YYYY-MM-DD (default: today in China); never in the future, "
            "never before the item's previous stage was decided",
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Resume a waiting review run afterwards")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Validate and record decisions (accepted or refused, both in the ledger), then resume
    the county's waiting review run, if any."""
    from sqlalchemy import select

    from zhucun.db import session_scope
    from zhucun.models import Strategy
    from zhucun.rules import review as rules
    from zhucun.tasks.review import ReviewError, decide, form_requests, policy_for

    if all_ and decision != "approve":
        fail("--all only approves; return or reject items one by one with --household")
    if not (all_ or household or plan):
        fail("say what you decide: --village CODE --all, --household ID ..., or --plan")
    if (all_ or plan) and not village:
        fail("--all and --plan need --village")
    decided_on = parse_date(on)
    with session_scope() as session:
        cy = year_or_latest(session, year)
        hh = list(household or [])
        villages = {village} if village else set()
        if hh:
            villages |= set(
                session.scalars(
                    select(Strategy.village_code).where(
                        Strategy.household_id.in_(hh), Strategy.cycle_year == cy
                    )
                )
            )
        if not villages:
            fail(f"households {', '.join(hh)} have no strategy in {cy}")
        county = sorted(villages)[0][:6]
        policy = policy_for(session, county, cy)
        reqs: list[rules.Request] = []
        if all_ and village:
            reqs += form_requests(
                session,
                cycle_year=cy,
                village=village,
                stage=stage,
                reviewer_id=reviewer,
                approve_all=True,
                decisions=[],
                decided_on=decided_on,
                policy=policy,
            )
        reqs += [
            rules.Request("strategy", h, stage, reviewer, decision, reason, decided_on) for h in hh
        ]
        if plan and village:
            reqs.append(
                rules.Request("plan", village, stage, reviewer, decision, reason, decided_on)
            )
        try:
            result = decide(session, reqs, cycle_year=cy, channel="cli", county=county)
        except ReviewError as exc:  # a concurrent duplicate slipped past the lock
            fail(str(exc))
    summaries = [o.summary() for o in result.outcomes]
    resumed = resume_runs(county) if resume and result.outcomes else []
    if as_json:
        emit_json({**result.counts(), "decisions": summaries, "resumed_runs": resumed})
    else:
        print_decisions(summaries, result.accepted, result.refused, resumed)
    if result.refused:
        raise typer.Exit(1)


def print_decisions(
    summaries: list[dict[str, Any]], accepted: int, refused: int, resumed: list[str]
) -> None:
    """One line per decision in the operator's words (the reason is data, never markup)."""
    from rich.text import Text

    from zhucun.labels import label, tr

    for s in summaries:
        ok = s["outcome"] == "accepted"
        line = Text(
            f"{label('subject', s['subject'])} {s['subject_id']} "
            f"{label('review_stage', s['stage'])} {label('decision', s['decision'])} "
        )
        line.append(label("decision_outcome", s["outcome"]), style="green" if ok else "red")
        if s["new_status"]:
            line.append(f" → {label('review_status', s['new_status'])}")
        if s["refusal_reason"]:
            line.append(tr("：", ": ") + clean(s["refusal_reason"]))
        console.print(line, soft_wrap=True, highlight=False)
    runs = ", ".join(resumed)
    say(
        tr(f"受理 {accepted} 项，不予受理 {refused} 项", f"{accepted} accepted, {refused} refused")
        + ((tr("；已恢复流程 ", "; resumed run(s) ") + runs) if resumed else "")
    )


def parse_date(value: str | None) -> date:
    if not value:
        from zhucun.tasks.review_lock import server_today

        return server_today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"not a date YYYY-MM-DD: {value}")
    raise AssertionError  # unreachable: fail() exits


def resume_runs(county: str) -> list[str]:
    """Resume the county's paused review runs so that they re-read the database (an empty
    form after the ledger moved means "decided elsewhere"). Needs a Prefect API."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return []
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    try:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["review-cycle"])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
                    tags=FlowRunFilterTags(all_=[f"county:{county}"]),
                ),
            )
    except Exception as exc:  # noqa: BLE001 - the decisions are recorded either way
        err_console.print(f"[yellow]could not reach Prefect to resume runs:[/] {exc}")
        return []
    resumed = []
    for run in runs:
        for attempt in range(5):
            try:
                resume_flow_run(run.id, run_input={"reviewer_id": ""})
                resumed.append(str(run.id))
                break
            except Exception as exc:  # noqa: BLE001 - "Run input schema not found": retry
                if attempt == 4:
                    err_console.print(f"[yellow]run {run.id} not resumed:[/] {exc}")
                time.sleep(1)
    return resumed


def register(app: typer.Typer) -> None:
    """`zhucun review` with the commands of its three modules, in the order of its help."""
    from zhucun.cli import commands_review_files, commands_review_publicity

    app.add_typer(review_app, name="review")
    commands_review_files.register(app)
    commands_review_publicity.register(app)
