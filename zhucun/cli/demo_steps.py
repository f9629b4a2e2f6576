"""Steps of `zhucun demo` after the review: the helpers record what they delivered, and the
exit procedures run on a compressed calendar (allowed for a demo county only), so the tour
shows households and villages announced as exited within minutes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any


def demo_deliveries(county: str, year: int, share: float = 0.9) -> dict[str, Any]:
    """The helper of each household (帮扶责任人) records the first measure of most approved
    strategies as delivered today, with its planned cost as the amount spent — one batch
    through the same checks as `zhucun measures deliver`."""
    from sqlalchemy import select

    from zhucun.db import session_scope
    from zhucun.models import HelperAssignment, Strategy, StrategyMeasure
    from zhucun.rules.delivery import DeliveryRecord
    from zhucun.tasks.delivery import record
    from zhucun.tasks.review_lock import server_today

    today = server_today()
    with session_scope() as session:
        helpers = dict(
            session.execute(
                select(HelperAssignment.household_id, HelperAssignment.cadre_id).where(
                    HelperAssignment.cycle_year == year,
                    HelperAssignment.village_code.like(f"{county}%"),
                )
            ).all()
        )
        first: dict[str, tuple[str, float]] = {}
        for r in session.execute(
            select(Strategy.household_id, StrategyMeasure.measure, StrategyMeasure.cost_yuan)
            .join(StrategyMeasure, StrategyMeasure.strategy_id == Strategy.id)
            .where(
                Strategy.cycle_year == year,
                Strategy.status == "approved",
                Strategy.village_code.like(f"{county}%"),
            )
            .order_by(Strategy.household_id, StrategyMeasure.id)
        ):
            first.setdefault(r.household_id, (r.measure, float(r.cost_yuan or 0)))
        chosen = sorted(h for h in first if h in helpers)
        chosen = chosen[: int(len(chosen) * share)]
        records = [
            DeliveryRecord(
                h,
                year,
                first[h][0],
                "delivered",
                today,
                first[h][1],
                helpers[h],
                "演示：帮扶责任人入户核实已落实",
            )
            for h in chosen
        ]
        refusals = record(session, records, today=today, source="demo")
        if refusals:
            session.rollback()
    return {"delivered": 0 if refusals else len(records), "refused": len(refusals)}


def demo_procedures(county: str, period: str, folder: Path) -> dict[str, Any]:
    """The exit procedures of the evaluation's proposals, unattended, on a compressed
    calendar (a demo county only): open the cases a publicity window ago, pass them by
    drafted minutes to their window, let it close today, announce by the second minutes."""

    from zhucun.db import session_scope
    from zhucun.flows.procedures import procedures_daily
    from zhucun.tasks.procedure_minutes import draft_procedure_minutes, write_procedure_minutes
    from zhucun.tasks.review_lock import server_today

    today = server_today()
    cy = int(period[:4])
    with session_scope() as session:
        from zhucun.tasks.review import policy_for

        days = max(s.days or 0 for s in policy_for(session, county, cy).procedure_stages["exit"])
    start = today - timedelta(days=days)
    first = procedures_daily(county, cy, period=period, as_of=str(start))
    for n, on in ((1, start), (2, today)):
        if n == 2:
            procedures_daily(county, cy, as_of=str(on))  # the windows close on their day
        with session_scope() as session:
            rows = draft_procedure_minutes(session, county=county, cycle_year=cy, decided_on=on)
        minutes = write_procedure_minutes(rows, folder / f"procedure-minutes-{n}.csv")
        last = procedures_daily(county, cy, decisions=str(minutes), as_of=str(on))
    cases = {(c["procedure"], c["status"]): c["count"] for c in last["cases"]}
    return {
        "period": period,
        "opened": sum(n for (p, _), n in cases.items() if p == "exit"),
        "newly_opened": first.get("proposed", {}).get("opened", 0),
        "villages_opened": sum(n for (p, _), n in cases.items() if p == "vexit"),
        "exited": cases.get(("exit", "done"), 0),
        "refused": cases.get(("exit", "rejected"), 0),
        "waiting": sum(
            n for (p, s), n in cases.items() if p == "exit" and s not in ("done", "rejected")
        ),
        "villages_exited": cases.get(("vexit", "done"), 0),
        "minutes": str(folder / "procedure-minutes-1.csv"),
    }
