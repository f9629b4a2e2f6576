"""`zhucun review ...` and `zhucun object ...`: what an approver and a village clerk use.

Every decision goes through `tasks.review.decide`, the same validation as the Prefect UI
form and decisions files, and lands in the same ledger. After recording, `decide` and
`import` resume a waiting review run of the county (if a Prefect server is configured), so
the run re-reads the database and moves on."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.output import clean, console, emit_json, err_console, fail, say
from zhucun.labels import tr

review_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Review household strategies and village plans (team ▸ committee ▸ township ▸ "
    "county), publicity (公示) and objections.",
    no_args_is_help=True,
)
publicity_app = typer.Typer(
    rich_markup_mode="markdown", help="Publicity windows (公示).", no_args_is_help=True
)
review_app.add_typer(publicity_app, name="publicity")

Stage = Annotated[str, typer.Option("--stage", help="team / committee / township / county")]


def _year(session: Any, year: int | None) -> int:
    if year is not None:
        return year
    from sqlalchemy import func, select

    from zhucun.models import Strategy

    found = session.scalar(select(func.max(Strategy.cycle_year)))
    if found is None:
        fail("no strategies in the database: give --year")
    return int(found)


def _county(session: Any, county: str | None, village: str | None) -> str:
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
        cy = _year(session, year)
        code = _county(session, county, village)
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
    decided_on = _date(on)
    with session_scope() as session:
        cy = _year(session, year)
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
    resumed = _resume_runs(county) if resume and result.outcomes else []
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


@review_app.command("import")
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
        cy = _year(session, year)
        res = apply_decisions_file(session, path, cycle_year=cy, county=county)
        counts = res.result.counts() if res.result else {"applied": False}
        counties = _counties_of(session, cy, res.result.outcomes if res.result else [])
        if not res.ok:
            session.rollback()
    resumed: list[str] = []
    if res.ok and resume and counts.get("accepted"):
        for c in [county] if county else counties:
            resumed += _resume_runs(c)
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


@review_app.command("minutes")
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
        cy = _year(session, year)
        code = _county(session, county, None)
        rows = draft_minutes(session, county=code, cycle_year=cy, decided_on=_date(on))
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


@review_app.command("notice")
def review_notice(
    village: Annotated[str, typer.Option(help="Village code (12 digits)")],
    year: Annotated[int, typer.Option(help="Cycle year")],
    out: Annotated[Path | None, typer.Option(help="Write the markdown here")] = None,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Write the notice as an A4 PDF here")
    ] = None,
) -> None:
    """The publicity notice (公示) to post in the village, in markdown: names and measures;
    never ID numbers, phone numbers or health details. `--pdf FILE`: the A4 sheet to post
    (names masked to surname + *, dates and where to object)."""
    from sqlalchemy import select

    from zhucun.db import session_scope
    from zhucun.models import Household, Plan, PlanItem, Publicity, Strategy, Village
    from zhucun.rules import review as rules

    with session_scope() as session:
        vname = session.scalar(select(Village.name).where(Village.village_code == village))
        if vname is None:
            fail(f"no village {village}")
        rows = [
            rules.NoticeRow(
                r.head_name, list(r.measures), float(r.cost_yuan), r.opens_on, r.closes_on
            )
            for r in session.execute(
                select(
                    Household.head_name,
                    Strategy.measures,
                    Strategy.cost_yuan,
                    Publicity.opens_on,
                    Publicity.closes_on,
                )
                .join(
                    Strategy,
                    (Strategy.household_id == Publicity.subject_id)
                    & (Strategy.cycle_year == Publicity.cycle_year),
                )
                .join(Household, Household.household_id == Strategy.household_id)
                .where(
                    Publicity.subject == "strategy",
                    Publicity.village_code == village,
                    Publicity.cycle_year == year,
                    Publicity.status == "open",
                )
            )
        ]
        plan = None
        p = session.execute(
            select(Publicity.opens_on, Publicity.closes_on, Plan.id, Plan.total_cost_yuan)
            .join(
                Plan,
                (Plan.village_code == Publicity.subject_id)
                & (Plan.cycle_year == Publicity.cycle_year),
            )
            .where(
                Publicity.subject == "plan",
                Publicity.subject_id == village,
                Publicity.cycle_year == year,
                Publicity.status == "open",
            )
        ).first()
        if p is not None:
            items = list(session.scalars(select(PlanItem.item).where(PlanItem.plan_id == p.id)))
            plan = (float(p.total_cost_yuan), items, p.opens_on, p.closes_on)
        text = rules.notice_markdown(vname, village, year, rows, plan)
        if pdf:
            from zhucun.reports.notice import write_notice_pdf

            write_notice_pdf(session, village, year, rows, plan, pdf)
    if pdf:
        console.print(f"notice PDF written to {pdf}")
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"notice written to {out}")
    elif not pdf:
        typer.echo(text)


@publicity_app.command("close")
def publicity_close(
    county: Annotated[str | None, typer.Option(help="County code (default: all)")] = None,
    today: Annotated[
        str | None,
        typer.Option(help="As of this date; needs --admin-as-of, --by and --reason"),
    ] = None,
    admin_as_of: Annotated[
        bool,
        typer.Option("--admin-as-of", help="Allow --today (audited: who and why)"),
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who overrides the date")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why")] = None,
) -> None:
    """Close the windows whose days have passed by the server's date (China): those items
    are final. A window closes by the server's clock, not the caller's: `--today` is refused
    unless `--admin-as-of --by NAME --reason WHY` is given, which writes an audit row
    (`review.as_of`) naming who, why, the date used and the server's date."""
    from zhucun.db import session_scope
    from zhucun.tasks.review import close_publicity

    as_of = _as_of(today, admin_as_of, by, reason, "review publicity close")
    with session_scope() as session:
        if as_of is not None:
            _audit_as_of(session, as_of, str(by), str(reason), "review publicity close")
        res = close_publicity(session, today=as_of, county=county)
    console.print(f"{res['closed']} publicity window(s) closed; those items are final")


def object_cmd(
    by: Annotated[str, typer.Option("--by", help="Who objects (a name; no ID number)")],
    reason: Annotated[str, typer.Option(help="What is wrong")],
    year: Annotated[int, typer.Option(help="Cycle year")],
    household: Annotated[str | None, typer.Option(help="Household ID (a strategy)")] = None,
    village: Annotated[str | None, typer.Option(help="Village code (its plan)")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Date filed (default: today)")] = None,
) -> None:
    """File an objection in the publicity window (公示期): the item goes back for
    re-review with the objection as reason."""
    from zhucun.db import session_scope
    from zhucun.tasks.review import ReviewError, file_objection

    if bool(household) == bool(village):
        fail("give exactly one of --household (a strategy) or --village (its plan)")
    subject, sid = ("strategy", household) if household else ("plan", village)
    try:
        with session_scope() as session:
            res = file_objection(
                session,
                subject=subject,
                subject_id=str(sid),
                cycle_year=year,
                filed_by=by,
                reason=reason,
                filed_on=_date(on),
            )
    except ReviewError as exc:
        fail(f"objection not accepted: {exc}")
    console.print(
        f"objection recorded: {res['subject']} {res['subject_id']} returned for re-review"
    )


def _as_of(
    value: str | None, admin: bool, by: str | None, reason: str | None, command: str
) -> date | None:
    """An as-of date for `command`, or None (the server's date). Chosen over an environment
    switch: overriding the clock is an administrator's act on the real database, so it
    must be explicit on the command line and leave an audit row naming who and why."""
    if value is None:
        if admin:
            fail("--admin-as-of needs --today DATE")
        return None
    if not admin:
        fail(
            f"{command}: --today is refused, windows close by the server's date; an "
            "administrator may add --admin-as-of --by NAME --reason WHY (audited)"
        )
    if not (by or "").strip() or not (reason or "").strip():
        fail("--admin-as-of needs --by (who) and --reason (why): both are audited")
    return _date(value)


def _audit_as_of(session: Any, as_of: date, by: str, reason: str, command: str) -> None:
    from zhucun.tasks.common import audit
    from zhucun.tasks.review_lock import server_today

    audit(
        session,
        actor=f"admin:{by.strip()}",
        action="review.as_of",
        entity="command",
        entity_id=command,
        after={"as_of": str(as_of), "server_date": str(server_today()), "reason": reason},
    )


def _date(value: str | None) -> date:
    if not value:
        from zhucun.tasks.review_lock import server_today

        return server_today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"not a date YYYY-MM-DD: {value}")
    raise AssertionError  # unreachable: fail() exits


def _resume_runs(county: str) -> list[str]:
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
    app.add_typer(review_app, name="review")
    app.command("object")(object_cmd)
