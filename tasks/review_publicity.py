"""Publicity (公示) and objections: closing windows whose days have passed (the item is
final) and objections that send an item back for re-review."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session
from zhucun.models import (
    Decision,
    Objection,
    ProcedureCase,
    Publicity,
    Strategy,
)
from zhucun.tasks.common import audit_many, county_region, now
from zhucun.tasks.procedure_cases import auto_decisions, run_crosschecks, set_case_status
from zhucun.tasks.review_ledger import _set_status
from zhucun.tasks.review_load import MODELS, SUBJECT_KEY, ReviewError
from zhucun.tasks.review_lock import server_today
from zhucun.tasks.review_sync import sync_states

from zhucun.policy import load_policy
from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

# --- Publicity and objections --------------------------------------------------------------


def close_publicity(
    session: Session,
    *,
    today: date | None = None,
    county: str | None = None,
    at: datetime | None = None,
) -> dict[str, int]:
    """Close the windows whose days have passed: the item is final (a strategy gets
    approved_by — the final approver — and approved_on — the day it became final).

    `today` defaults to the server's date (Asia/Shanghai); only tests and an audited
    `--admin-as-of` in the CLI pass another one."""
    at = at or now()
    today = today or server_today(at)
    stmt = select(
        Publicity.id,
        Publicity.subject,
        Publicity.subject_id,
        Publicity.cycle_year,
        Publicity.version,
        Publicity.closes_on,
        Publicity.village_code,
        Publicity.stage,
    ).where(Publicity.status == "open", Publicity.closes_on <= today)
    if county:
        stmt = stmt.where(Publicity.village_code.like(f"{county}%"))
    due = session.execute(stmt).all()
    if not due:
        return {"closed": 0}
    session.execute(
        update(Publicity)
        .where(Publicity.id.in_([p.id for p in due]))
        .values(status="closed", closed_at=at)
    )
    strategies = [p for p in due if p.subject == "strategy"]
    if strategies:
        approver: dict[tuple[str, int, int], str] = {}
        for r in session.execute(
            select(Decision.subject_id, Decision.cycle_year, Decision.version, Decision.reviewer_id)
            .where(
                Decision.subject == "strategy",
                Decision.outcome == "accepted",
                Decision.decision == "approve",
                Decision.subject_id.in_([p.subject_id for p in strategies]),
            )
            .order_by(Decision.decision_id)
        ):
            approver[(r.subject_id, r.cycle_year, r.version)] = r.reviewer_id  # last wins
        session.execute(
            update(Strategy),
            [
                dict(
                    id=sid,
                    approved_by=approver.get((p.subject_id, p.cycle_year, p.version)),
                    approved_on=p.closes_on,
                )
                for p, sid in _strategy_ids(session, strategies)
            ],
        )
    _advance_procedures(session, [p for p in due if p.subject in proc.PROCEDURES], today, at)
    audit_many(
        session,
        [
            dict(
                actor="zhucun:review",
                action="publicity.closed",
                entity=p.subject,
                entity_id=f"{p.subject_id}/{p.cycle_year}",
                after={"status": "final", "closes_on": str(p.closes_on)},
            )
            for p in due
        ],
    )
    return {"closed": len(due)}


def _advance_procedures(session: Session, due: Sequence[Any], today: date, at: datetime) -> None:
    """A procedure's window closed without objection: the case passes that stage, as an
    automatic decision in the ledger (reviewer zhucun:system), and runs on into an
    automatic stage that follows (the cross-check)."""
    by_cycle: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for p in due:
        by_cycle[(p.cycle_year, p.village_code[:6])].append(p)
    for (cycle_year, county), pubs in sorted(by_cycle.items()):
        region, province = county_region(session, county)
        policy = load_policy(session, cycle_year, region, province)
        at_stage = {
            (r.procedure, r.subject_id): (r.status, r.version)
            for r in session.execute(
                select(ProcedureCase.procedure, ProcedureCase.subject_id,
                       ProcedureCase.status, ProcedureCase.version)
                .where(ProcedureCase.cycle_year == cycle_year,
                       ProcedureCase.subject_id.in_([p.subject_id for p in pubs]))
            )
        }  # fmt: skip
        moves = [
            dict(procedure=p.subject, subject_id=p.subject_id, village_code=p.village_code,
                 version=p.version, stage=p.stage, decision="approve",
                 reason=f"公示期满无异议 ({p.closes_on})",
                 new_status=proc.after(p.stage, rules.stages_for(policy, p.subject)))
            for p in pubs
            if at_stage.get((p.subject, p.subject_id)) == (p.stage, p.version)
        ]  # fmt: skip
        auto_decisions(session, moves, cycle_year=cycle_year, policy=policy, today=today, at=at)
        run_crosschecks(session, cycle_year, policy=policy, today=today, county=county)
        villages = sorted({p.village_code for p in pubs})
        sync_states(session, cycle_year, villages, policy=policy, at=at)


def _strategy_ids(session: Session, pubs: Sequence[Any]) -> list[tuple[Any, int]]:
    ids = {
        (r.household_id, r.cycle_year): r.id
        for r in session.execute(
            select(Strategy.id, Strategy.household_id, Strategy.cycle_year).where(
                Strategy.household_id.in_([p.subject_id for p in pubs]), Strategy.is_current
            )
        )
    }
    return [
        (p, ids[(p.subject_id, p.cycle_year)]) for p in pubs if (p.subject_id, p.cycle_year) in ids
    ]


def file_objection(
    session: Session,
    *,
    subject: str,
    subject_id: str,
    cycle_year: int,
    filed_by: str,
    reason: str,
    filed_on: date,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An objection in the publicity window returns the item for re-review (approved →
    returned, the objection as reason). Raises ReviewError when it cannot be heard."""
    at = at or now()
    if filed_on > server_today(at):
        raise ReviewError(f"filed_on {filed_on} is in the future")
    pub = (
        session.execute(
            select(Publicity)
            .where(
                Publicity.subject == subject,
                Publicity.subject_id == subject_id,
                Publicity.cycle_year == cycle_year,
            )
            .order_by(Publicity.version.desc(), Publicity.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
    why = rules.objection_refusal(
        pub.status if pub else None,
        pub.opens_on if pub else None,
        pub.closes_on if pub else None,
        filed_on,
        reason,
        filed_by,
    )
    if why or pub is None:
        raise ReviewError(why or "not in publicity")
    if subject in proc.PROCEDURES:
        status = session.scalar(
            select(ProcedureCase.status).where(
                ProcedureCase.procedure == subject,
                ProcedureCase.subject_id == subject_id,
                ProcedureCase.cycle_year == cycle_year,
            )
        )
        if status != pub.stage:
            raise ReviewError(f"the case is at {status}, not in its {pub.stage} window")
    else:
        model = MODELS[subject]
        status = session.scalar(
            select(model.status).where(
                SUBJECT_KEY[subject] == subject_id,
                model.cycle_year == cycle_year,
                *([Strategy.is_current] if subject == "strategy" else []),
            )
        )
        from zhucun.models.transitions import check_transition

        check_transition(subject, status, "returned")
    session.execute(
        insert(Objection),
        [
            dict(
                publicity_id=pub.id,
                subject=subject,
                subject_id=subject_id,
                cycle_year=cycle_year,
                filed_by=filed_by,
                reason=reason,
                filed_on=filed_on,
                received_at=at,
            )
        ],
    )
    session.execute(
        update(Publicity).where(Publicity.id == pub.id).values(status="objected", closed_at=at)
    )
    back = [dict(subject_id=subject_id, status="returned", reason=f"objection: {reason}")]
    region, province = county_region(session, pub.village_code[:6])
    policy = load_policy(session, cycle_year, region, province)
    if subject in proc.PROCEDURES:
        set_case_status(session, subject, cycle_year, back, policy=policy, today=filed_on)
    else:
        _set_status(session, subject, cycle_year, back)
    audit_many(
        session,
        [
            dict(
                actor=f"objection:{filed_by}",
                action="review.objection",
                entity=subject,
                entity_id=f"{subject_id}/{cycle_year}",
                before={"status": status},
                after={"status": "returned", "reason": reason},
            )
        ],
    )
    sync_states(session, cycle_year, [pub.village_code], policy=policy, at=at)
    return {
        "subject": subject,
        "subject_id": subject_id,
        "status": "returned",
        "publicity_id": pub.id,
    }
