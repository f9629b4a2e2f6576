"""Procedure cases as review items: the reading side the review ledger uses for subjects
`identify`, `exit` and `vexit` (their decisions, clock and windows are the review ones).
Helpers take a `session` and never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import Household, Member, ProcedureCase

from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

Key = tuple[str, str]


def load_procedure_items(
    session: Session,
    cycle_year: int,
    *,
    villages: Sequence[str] | None = None,
    keys: Iterable[Key] | None = None,
) -> dict[Key, rules.Item]:
    """Open and closed cases of the cycle, with the household head's ID number (conflicts
    only) and the household's member names (its acknowledgement)."""
    stmt = (
        select(
            ProcedureCase.procedure,
            ProcedureCase.subject_id,
            ProcedureCase.village_code,
            ProcedureCase.status,
            ProcedureCase.version,
            Household.head_id_number,
            Household.head_name,
        )
        .outerjoin(Household, Household.household_id == ProcedureCase.subject_id)
        .where(ProcedureCase.cycle_year == cycle_year)
    )
    if villages is not None:
        stmt = stmt.where(ProcedureCase.village_code.in_(villages))
    if keys is not None:
        wanted = [(s, i) for s, i in keys if s in proc.PROCEDURES]
        if not wanted:
            return {}
        stmt = stmt.where(ProcedureCase.subject_id.in_(sorted({i for _, i in wanted})))
        wanted_set = set(wanted)
    rows = [r for r in session.execute(stmt) if keys is None or (r[0], r[1]) in wanted_set]
    households = sorted({r.subject_id for r in rows if r.procedure in proc.HOUSEHOLD_PROCEDURES})
    members: dict[str, set[str]] = defaultdict(set)
    for part in range(0, len(households), 500):
        for m in session.execute(
            select(Member.household_id, Member.name).where(
                Member.household_id.in_(households[part : part + 500])
            )
        ):
            members[m.household_id].add(m.name.strip())
    items: dict[Key, rules.Item] = {}
    for r in rows:
        household = r.procedure in proc.HOUSEHOLD_PROCEDURES
        names = frozenset(
            members.get(r.subject_id, set())
            | ({r.head_name.strip()} if household and r.head_name else set())
        )
        items[(r.procedure, r.subject_id)] = rules.Item(
            r.procedure,
            r.subject_id,
            cycle_year,
            r.village_code,
            r.status,
            r.version,
            r.head_id_number if household else None,
            names,
        )
    return items
