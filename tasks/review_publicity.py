"""Publicity (公示) and objections: closing windows whose days have passed (the item is
final) and objections that send an item back for re-review."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session
from zhucun.models import (
    Decision,
    Objection,
    Publicity,
    Strategy,
)
from zhucun.tasks.common import audit_many, county_region, now
from zhucun.tasks.review_ledger import _set_status, sync_states
from zhucun.tasks.review_load import MODELS, SUBJECT_KEY, ReviewError
from zhucun.tasks.review_lock import server_today

from zhucun.policy import load_policy
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


def _strategy_ids(session: Session, pubs: Sequence[Any]) -> list[tuple[Any, int]]:
    ids = {
        (r.household_id, r.cycle_year): r.id
        for r in session.execute(
            select(Strategy.id, Strategy.household_id, Strategy.cycle_year).where(
                Strategy.household_id.in_([p.subject_id for p in pubs])
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
            .order_by(Publicity.version.desc())
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
    model = MODELS[subject]
    status = session.scalar(
        select(model.status).where(
            SUBJECT_KEY[subject] == subject_id, model.cycle_year == cycle_year
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
    _set_status(
        session,
        subject,
        cycle_year,
        [dict(subject_id=subject_id, status="returned", reason=f"objection: {reason}")],
    )
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
    region, province = county_region(session, pub.village_code[:6])
    sync_states(
        session,
        cycle_year,
        [pub.village_code],
        policy=load_policy(session, cycle_year, region, province),
        at=at,
    )
    return {
        "subject": subject,
        "subject_id": subject_id,
        "status": "returned",
        "publicity_id": pub.id,
    }
