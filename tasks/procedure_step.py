"""One step of a county's procedures, as a Prefect task (one session, one commit, a small
summary): open exit cases from an evaluation's 预退出 list, close the publicity windows whose
days have passed, run the cross-checks, apply the meeting minutes, and say where every case
stands with the notices to post. Personal data never leaves: names and sizes only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import Household, ProcedureCase, Publicity, Village
from zhucun.tasks.common import demo_marked
from zhucun.tasks.procedure_cases import run_crosschecks
from zhucun.tasks.procedures import open_years, propose_exits
from zhucun.tasks.review_files import apply_decisions_file
from zhucun.tasks.review_load import ReviewError, policy_for
from zhucun.tasks.review_lock import server_today
from zhucun.tasks.review_publicity import close_publicity
from zhucun.tasks.safety import guarded

from zhucun.db import session_scope
from zhucun.rules import procedure as proc


def demo_clock(session: Session, county: str, as_of: str | None) -> date | None:
    """A compressed calendar (as_of) only for a county `zhucun demo` generated: on a real
    county the server's date decides every window and every decision date."""
    if not as_of:
        return None
    if not demo_marked(session, county):
        raise ReviewError(
            f"as_of is refused for county {county}: only a demo county runs on a "
            "compressed calendar; windows close by the server's date"
        )
    return date.fromisoformat(as_of)


@task(
    cache_policy=NO_CACHE, name="procedure-step", task_run_name="procedures-{county}-{cycle_year}"
)
@guarded
def procedure_step_task(
    county: str,
    cycle_year: int | None,
    period: str | None = None,
    decisions: str | None = None,
    as_of: str | None = None,
) -> dict[str, Any]:
    """Without a cycle year: the open cases of every year (a case opened in December still
    moves in January) and this year's; the minutes apply to this year's cases."""
    with session_scope() as session:
        today = demo_clock(session, county, as_of) or server_today()
        out: dict[str, Any] = {"today": str(today)}
        if period:
            out["proposed"] = propose_exits(session, county, period, today=today)
            out["villages_proposed"] = propose_village_exits(session, county, period, today)
        out["publicity"] = close_publicity(session, today=today, county=county)
        years = [cycle_year] if cycle_year else sorted({*open_years(session, county), today.year})
        out["cycle_years"] = years
        out["crosscheck"] = Counter[str]()
        for year in years:
            policy = policy_for(session, county, year)
            out["crosscheck"].update(
                run_crosschecks(session, year, policy=policy, today=today, county=county)
            )
        out["crosscheck"] = dict(out["crosscheck"])
        if decisions:
            res = apply_decisions_file(
                session,
                Path(decisions),
                cycle_year=cycle_year or today.year,
                county=county,
                today=today,
            )
            if res.errors:
                raise ReviewError(res.errors[0])
            out["decisions"] = res.result.counts() if res.result else {}
            if res.result and not res.result.applied:
                refused = next(o for o in res.result.outcomes if not o.verdict.accepted)
                row = f"row {refused.row}: " if refused.row else ""
                raise ReviewError(f"{Path(decisions).name}: {row}{refused.verdict.refusal}")
        out |= standing(session, county, years, today)
    return out


def propose_village_exits(session: Session, county: str, period: str, today: date) -> int:
    """The villages the evaluation of `period` found under the exit threshold, not exited
    yet, each get a village exit case (the automation's flow opens the same one, once)."""
    from zhucun.models import VillageStatus
    from zhucun.tasks.procedure_cases import open_cases

    rows = [
        dict(subject_id=r.village_code, village_code=r.village_code)
        for r in session.execute(
            select(VillageStatus.village_code)
            .join(Village, Village.village_code == VillageStatus.village_code)
            .where(
                VillageStatus.period == period,
                VillageStatus.exit_eligible.is_(True),
                Village.county_code == county,
                Village.exit_year.is_(None),
                Village.registered_poor.is_(True),
            )
        )
    ]
    if not rows:
        return 0
    policy = policy_for(session, county, int(period[:4]))
    return open_cases(
        session,
        "vexit",
        rows,
        cycle_year=int(period[:4]),
        origin="incidence",
        policy=policy,
        today=today,
    )


def standing(
    session: Session, county: str, cycle_year: int | Sequence[int], today: date
) -> dict[str, Any]:
    """Cases by procedure and status of the cycle year(s), and the notices of windows open
    today and of cases announced today (names and household sizes only)."""
    years = [cycle_year] if isinstance(cycle_year, int) else list(cycle_year)
    counts: Counter[tuple[str, str]] = Counter()
    for r in session.execute(
        select(ProcedureCase.procedure, ProcedureCase.status).where(
            ProcedureCase.cycle_year.in_(years), ProcedureCase.village_code.like(f"{county}%")
        )
    ):
        counts[(r.procedure, r.status)] += 1
    vnames = {
        r.village_code: r.name
        for r in session.execute(
            select(Village.village_code, Village.name).where(Village.county_code == county)
        )
    }
    notices: list[str] = []
    windows: dict[tuple[str, str, str, date, date], list[tuple[str, int | None]]] = {}
    for r in session.execute(
        select(
            Publicity.subject,
            Publicity.stage,
            Publicity.village_code,
            Publicity.opens_on,
            Publicity.closes_on,
            Household.head_name,
            Household.size,
        )
        .outerjoin(Household, Household.household_id == Publicity.subject_id)
        .where(
            Publicity.subject.in_(proc.PROCEDURES),
            Publicity.status == "open",
            Publicity.cycle_year.in_(years),
            Publicity.village_code.like(f"{county}%"),
        )
        .order_by(Publicity.village_code, Household.head_name)
    ):
        key = (r.subject, r.stage, r.village_code, r.opens_on, r.closes_on)
        windows.setdefault(key, []).append((r.head_name or "", r.size))
    for (subject, stage, village, opens, closes), rows in sorted(windows.items()):
        notices.append(
            proc.notice_markdown(subject, stage, vnames.get(village, village), rows, opens, closes)
        )
    announced: dict[tuple[str, str], list[tuple[str, int | None]]] = {}
    for r in session.execute(
        select(
            ProcedureCase.procedure, ProcedureCase.village_code, Household.head_name, Household.size
        )
        .outerjoin(Household, Household.household_id == ProcedureCase.subject_id)
        .where(
            ProcedureCase.status == proc.DONE,
            ProcedureCase.closed_on == today,
            ProcedureCase.village_code.like(f"{county}%"),
        )
        .order_by(ProcedureCase.village_code, Household.head_name)
    ):
        announced.setdefault((r.procedure, r.village_code), []).append((r.head_name or "", r.size))
    for (procedure, village), rows in sorted(announced.items()):
        notices.append(
            proc.notice_markdown(
                procedure, "announce", vnames.get(village, village), rows, today, None
            )
        )
    return {
        "cases": [dict(procedure=p, status=s, count=n) for (p, s), n in sorted(counts.items())],
        "announced_today": sum(len(v) for v in announced.values()),
        "notices": notices,
    }
