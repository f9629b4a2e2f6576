"""`zhucun review notice`, `zhucun review publicity close` and `zhucun object`: the
publicity window (公示) — the notice a village clerk posts, an objection filed in the
window, and closing the windows whose days have passed.

`--json` prints what a script needs and nothing personal: codes, household IDs, counts,
dates and file paths; never a name, ID number, phone, account, measure or reason (a
measure can tell an illness, a reason can quote anything)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.commands_review import parse_date, review_app
from zhucun.cli.output import console, emit_json, fail

publicity_app = typer.Typer(
    rich_markup_mode="markdown", help="Publicity windows (公示).", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts)")]


def review_notice(
    village: Annotated[str, typer.Option(help="Village code (12 digits)")],
    year: Annotated[int, typer.Option(help="Cycle year")],
    out: Annotated[Path | None, typer.Option(help="Write the markdown here")] = None,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Write the notice as an A4 PDF here")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The publicity notice (公示) to post in the village, in markdown: names and measures;
    never ID numbers, phone numbers or health details. `--pdf FILE`: the A4 sheet to post
    (names masked to surname + *, dates and where to object). `--json`: what is in
    publicity (household IDs, the plan, the windows) and the files written, no names."""
    from sqlalchemy import select

    from zhucun.db import session_scope
    from zhucun.models import Household, Plan, PlanItem, Publicity, Strategy, Village
    from zhucun.rules import review as rules

    with session_scope() as session:
        vname = session.scalar(select(Village.name).where(Village.village_code == village))
        if vname is None:
            fail(f"no village {village}")
        found = list(
            session.execute(
                select(
                    Strategy.household_id,
                    Household.head_name,
                    Strategy.measures,
                    Strategy.cost_yuan,
                    Publicity.opens_on,
                    Publicity.closes_on,
                )
                .join(
                    Strategy,
                    (Strategy.household_id == Publicity.subject_id)
                    & (Strategy.cycle_year == Publicity.cycle_year)
                    & (Strategy.version == Publicity.version),
                )
                .join(Household, Household.household_id == Strategy.household_id)
                .where(
                    Publicity.subject == "strategy",
                    Publicity.village_code == village,
                    Publicity.cycle_year == year,
                    Publicity.status == "open",
                )
                .order_by(Strategy.household_id)
            )
        )
        rows = [
            rules.NoticeRow(
                r.head_name, list(r.measures), float(r.cost_yuan), r.opens_on, r.closes_on
            )
            for r in found
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
    if as_json:
        if out:
            out.write_text(text, encoding="utf-8")
        emit_json(notice_json(village, vname, year, found, plan, markdown=out, pdf=pdf))
        return
    if pdf:
        console.print(f"notice PDF written to {pdf}")
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"notice written to {out}")
    elif not pdf:
        typer.echo(text)


def notice_json(
    village: str,
    village_name: str,
    year: int,
    strategies: list[Any],
    plan: tuple[float, list[str], date, date] | None,
    *,
    markdown: Path | None,
    pdf: Path | None,
) -> dict[str, Any]:
    """The notice for a script: who is in publicity by household ID (never the head's name
    or measures), the plan's size, each window's first and last day, the files written."""

    def window(opens: date, closes: date) -> dict[str, str]:
        return {"opens_on": str(opens), "last_day": str(closes - timedelta(days=1))}

    return {
        "village": village,
        "village_name": village_name,
        "cycle_year": year,
        "strategies": [
            {
                "household_id": r.household_id,
                "cost_yuan": float(r.cost_yuan),
                **window(r.opens_on, r.closes_on),
            }
            for r in strategies
        ],
        "plan": None
        if plan is None
        else {"cost_yuan": plan[0], "items": len(plan[1]), **window(plan[2], plan[3])},
        "files": {"markdown": _path(markdown), "pdf": _path(pdf)},
    }


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
    as_json: JsonOpt = False,
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
    if as_json:
        from zhucun.tasks.review_lock import server_today

        as_of_text = str(as_of) if as_of else None
        emit_json(
            {**res, "county": county, "as_of": as_of_text, "server_date": str(server_today())}
        )
        return
    console.print(f"{res['closed']} publicity window(s) closed; those items are final")


def object_cmd(
    by: Annotated[str, typer.Option("--by", help="Who objects (a name; no ID number)")],
    reason: Annotated[str, typer.Option(help="What is wrong")],
    year: Annotated[int, typer.Option(help="Cycle year")],
    household: Annotated[str | None, typer.Option(help="Household ID (a strategy)")] = None,
    village: Annotated[str | None, typer.Option(help="Village code (its plan)")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Date filed (default: today)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """File an objection in the publicity window (公示期): the item goes back for
    re-review with the objection as reason."""
    from zhucun.db import session_scope
    from zhucun.tasks.review import ReviewError, file_objection

    if bool(household) == bool(village):
        fail("give exactly one of --household (a strategy) or --village (its plan)")
    subject, sid = ("strategy", household) if household else ("plan", village)
    filed_on = parse_date(on)
    try:
        with session_scope() as session:
            res = file_objection(
                session,
                subject=subject,
                subject_id=str(sid),
                cycle_year=year,
                filed_by=by,
                reason=reason,
                filed_on=filed_on,
            )
    except ReviewError as exc:
        fail(f"objection not accepted: {exc}")
    if as_json:  # who objected and why stay in the database
        emit_json({**res, "cycle_year": year, "filed_on": str(filed_on)})
        return
    console.print(
        f"objection recorded: {res['subject']} {res['subject_id']} returned for re-review"
    )


def _path(path: Path | None) -> str | None:
    return str(path) if path else None


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
    return parse_date(value)


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


def register(app: typer.Typer) -> None:
    """Add `notice` and `publicity close` to `zhucun review` (after the decisions files'
    commands), and `zhucun object`."""
    review_app.command("notice")(review_notice)
    publicity_app.command("close")(publicity_close)
    review_app.add_typer(publicity_app, name="publicity")
    app.command("object")(object_cmd)
