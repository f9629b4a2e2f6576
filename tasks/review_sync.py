"""The review's stage clock (`ReviewState`) and its standing escalations, kept in line with
the items: a strategy, plan or procedure case whose (status, version) changed — a
decision, a redraft — enters its stage now; a waiting strategy whose head is a near
relative of a village official is escalated past the committee (优亲厚友, once: unique key).

Set-based: the database says which items changed (a join of the items with their states),
so a county's re-run that changes nothing reads no item; the 优亲厚友 check reads each
waiting strategy's head as a plain row and looks it up in the village's index of the
officials and their relatives. `changed_reference` and `standing_reference` are the
per-item readings (every item loaded, compared in Python), kept as the test oracle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlmodel import Session
from zhucun.models import Household, Plan, ProcedureCase, ReviewEscalation, ReviewState, Strategy
from zhucun.tasks.common import audit_many, now
from zhucun.tasks.review_load import (
    Key,
    load_contexts,
    load_escalations,
    load_items,
    pending_statuses,
)
from zhucun.tasks.sql import dialect_insert, temporary_tables, upsert

from zhucun.policy import Policy
from zhucun.rules import review as rules

# (subject, subject_id, village_code, status, version) of an item whose state is stale
Changed = tuple[str, str, str, str, int]
CHANGED = Table(
    "zc_review_changed",
    MetaData(),
    Column("subject", String),
    Column("subject_id", String),
    Column("village_code", String),
    Column("status", String),
    Column("version", Integer),
    prefixes=["TEMPORARY"],
)


def sync_states(
    session: Session,
    cycle_year: int,
    villages: Sequence[str],
    *,
    policy: Policy,
    at: datetime | None = None,
) -> dict[str, int]:
    """Bring `ReviewState` in line with the items' (status, version): an item whose status or
    version changed (a decision here, a redraft elsewhere) enters its stage now. Records the
    standing 优亲厚友 escalations of the waiting strategies (once: unique key)."""
    at = at or now()
    with temporary_tables(session, CHANGED):
        session.execute(
            insert(CHANGED).from_select(
                [c.name for c in CHANGED.columns], _changed_statement(cycle_year, villages)
            )
        )
        entered = _enter_stages(session, cycle_year, policy, at)
    standing = standing_rows(session, cycle_year, villages, policy)
    escalated = _record(session, cycle_year, standing, at)
    return {"entered_stage": entered, "escalated": escalated}


def _enter_stages(session: Session, cycle_year: int, policy: Policy, at: datetime) -> int:
    """The stale items (in CHANGED) enter the stage their (subject, status) waits for: one
    INSERT … SELECT … ON CONFLICT, the stage of each of the few (subject, status) pairs
    worked out by `rules.waiting_stage` and written into the statement."""
    c = CHANGED.c
    pairs = session.execute(select(c.subject, c.status).distinct()).all()
    if not pairs:
        return 0
    stage = case(
        *(
            (
                and_(c.subject == subject, c.status == status),
                literal(
                    rules.waiting_stage(subject, status, rules.stages_for(policy, subject)),
                    String,
                ),
            )
            for subject, status in pairs
        ),
        else_=null(),
    )
    stmt = dialect_insert(session, ReviewState).from_select(
        ["subject", "subject_id", "cycle_year", "village_code", "status", "version"]
        + ["stage", "entered_at"],
        select(
            c.subject,
            c.subject_id,
            literal(cycle_year),
            c.village_code,
            c.status,
            c.version,
            stage,
            literal(at, ReviewState.__table__.c.entered_at.type),
        ).where(true()),  # SQLite: an upsert's SELECT needs a WHERE (else ON reads as a join's)
    )
    cols = ("village_code", "status", "version", "stage", "entered_at")
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["subject", "subject_id", "cycle_year"],
            set_={k: stmt.excluded[k] for k in cols},
        )
    )
    return int(session.scalar(select(func.count()).select_from(CHANGED)) or 0)


def _changed_statement(cycle_year: int, villages: Sequence[str]) -> Any:
    """The items of `villages` whose state (recorded under one of `villages`) is missing or
    names another status or version: one statement per kind of item, joined in SQL."""
    rs = ReviewState
    villages = list(villages)

    def stale(subject: Any, sid: Any, village: Any, status: Any, version: Any) -> Any:
        join = and_(
            rs.subject == subject,
            rs.subject_id == sid,
            rs.cycle_year == cycle_year,
            rs.village_code.in_(villages),
        )
        cols = (subject.label("subject"), sid, village, status, version)
        return (
            select(*cols)
            .outerjoin(rs, join)
            .where(or_(rs.id.is_(None), rs.status != status, rs.version != version))
        )

    s, p, c = Strategy, Plan, ProcedureCase
    strategies = stale(literal("strategy"), s.household_id, s.village_code, s.status, s.version)
    plans = stale(literal("plan"), p.village_code, p.village_code, p.status, p.version)
    cases = stale(c.procedure, c.subject_id, c.village_code, c.status, c.version)
    stmt = union_all(
        strategies.where(s.cycle_year == cycle_year, s.is_current, s.village_code.in_(villages)),
        plans.where(p.cycle_year == cycle_year, p.village_code.in_(villages)),
        cases.where(c.cycle_year == cycle_year, c.village_code.in_(villages)),
    )
    return stmt


def changed_items(session: Session, cycle_year: int, villages: Sequence[str]) -> list[Changed]:
    """The stale items, as rows (`_changed_statement`)."""
    stmt = _changed_statement(cycle_year, villages)
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def changed_reference(session: Session, cycle_year: int, villages: Sequence[str]) -> list[Changed]:
    """The reference of `changed_items`: every item and every state read, compared here."""
    items = load_items(session, cycle_year, villages=villages)
    rs = ReviewState
    states = {
        (r.subject, r.subject_id): (r.status, r.version)
        for r in session.execute(
            select(rs.subject, rs.subject_id, rs.status, rs.version).where(
                rs.cycle_year == cycle_year, rs.village_code.in_(villages)
            )
        )
    }
    return [
        (i.subject, i.subject_id, i.village_code, i.status, i.version)
        for key, i in items.items()
        if states.get(key) != (i.status, i.version)
    ]


def standing_rows(
    session: Session, cycle_year: int, villages: Sequence[str], policy: Policy
) -> list[dict[str, Any]]:
    """The standing escalations of the chunk's waiting strategies not yet recorded at their
    level. A waiting strategy is read as a plain row; only one whose head is, or is a near
    relative of, a village official (`VillageContext.official_relation`) becomes an item
    and goes through `rules.standing_escalations`. The database returns only the heads
    stored as one of those people, or stored in another spelling than the importer's (which
    `person_key` reads here): the rest, most of a county, cannot be related."""
    contexts = load_contexts(session, villages, policy, cycle_year)
    people = sorted({k for c in contexts.values() for k in c.official_kin})
    s, head = Strategy, Household.head_id_number
    heads = session.execute(
        select(s.household_id, s.village_code, s.status, s.version, head)
        .join(Household, Household.household_id == s.household_id)
        .where(
            s.cycle_year == cycle_year,
            s.is_current,
            s.village_code.in_(list(villages)),
            s.status.in_(pending_statuses("strategy")),
            or_(head.in_(people), not_(stored_plain(session, head))),
        )
    )
    items = [
        rules.Item("strategy", hid, cycle_year, village, status, version, head)
        for hid, village, status, version, head in heads
        if head and contexts[village].official_relation(head) is not None
    ]
    return _rows(session, cycle_year, villages, items, contexts, policy)


def standing_reference(
    session: Session, cycle_year: int, villages: Sequence[str], policy: Policy
) -> list[dict[str, Any]]:
    """The reference of `standing_rows`: every waiting strategy through the rule."""
    waiting = set(pending_statuses("strategy"))
    items = [
        i
        for i in load_items(session, cycle_year, villages=villages).values()
        if i.subject == "strategy" and i.status in waiting
    ]
    contexts = load_contexts(session, villages, policy, cycle_year)
    return _rows(session, cycle_year, villages, items, contexts, policy)


def _rows(
    session: Session,
    cycle_year: int,
    villages: Sequence[str],
    items: Sequence[rules.Item],
    contexts: Mapping[str, rules.VillageContext],
    policy: Policy,
) -> list[dict[str, Any]]:
    if not items:
        return []
    have: Mapping[Key, Mapping[str, str]] = load_escalations(session, cycle_year, villages)
    full = rules.ladder(policy)
    rows = []
    for item in sorted(items, key=lambda i: i.subject_id):
        for stage, (level, why) in rules.standing_escalations(
            item, contexts[item.village_code], full
        ).items():
            if have.get((item.subject, item.subject_id), {}).get(stage) == level:
                continue
            rows.append(
                dict(
                    subject=item.subject,
                    subject_id=item.subject_id,
                    cycle_year=cycle_year,
                    village_code=item.village_code,
                    stage=stage,
                    level=level,
                    reason=why,
                )
            )
    return rows


def _record(session: Session, cycle_year: int, rows: list[dict[str, Any]], at: datetime) -> int:
    if not rows:
        return 0
    upsert(
        session,
        ReviewEscalation,
        [r | {"at": at} for r in rows],
        ("subject", "subject_id", "cycle_year", "stage"),
    )
    audit_many(session, [escalation_audit(r, cycle_year) for r in rows])
    return len(rows)


def escalation_audit(row: dict[str, Any], cycle_year: int) -> dict[str, Any]:
    """The audit row of one escalation recorded (a standing one here, a conflict in
    `review_ledger.decide`)."""
    return dict(
        actor="zhucun:review",
        action="review.escalated",
        entity=row["subject"],
        entity_id=f"{row['subject_id']}/{cycle_year}",
        after={"stage": row["stage"], "level": row["level"], "reason": row["reason"]},
    )


def stored_plain(session: Session, column: Any) -> Any:
    """The column holds an ID number as the importer stores it (17 digits and a digit or X:
    `rules.review.person_key` returns it unchanged)."""
    if session.get_bind().dialect.name == "sqlite":
        return column.op("GLOB", is_comparison=True)("[0-9]" * 17 + "[0-9X]")
    return column.op("~", is_comparison=True)("^[0-9]{17}[0-9X]$")
