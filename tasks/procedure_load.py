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
    where = [ProcedureCase.cycle_year == cycle_year]
    if villages is not None:
        where.append(ProcedureCase.village_code.in_(villages))
    wanted_set: set[Key] = set()
    if keys is not None:
        wanted_set = {(s, i) for s, i in keys if s in proc.PROCEDURES}
        if not wanted_set:
            return {}
        where.append(ProcedureCase.subject_id.in_(sorted({i for _, i in wanted_set})))
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
        .where(*where)
    )
    rows = [r for r in session.execute(stmt) if keys is None or (r[0], r[1]) in wanted_set]
    # The members of the same cases' households, joined (not batches of bound household
    # IDs, which PostgreSQL planned generically and compared with every member row: 11.7 s
    # of a 200k county's review sync)
    members: dict[str, set[str]] = defaultdict(set)
    for m in session.execute(
        select(Member.household_id, Member.name)
        .join(ProcedureCase, ProcedureCase.subject_id == Member.household_id)
        .where(*where, ProcedureCase.procedure.in_(sorted(proc.HOUSEHOLD_PROCEDURES)))
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
