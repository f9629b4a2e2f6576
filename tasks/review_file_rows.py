"""A decisions file's rows, held by the database while the file is applied: parsed into a
temporary table a batch at a time, marked when already applied, given the village of their
item, and read back a chunk of villages at a time in the order the minutes were taken.

So applying the minutes of a province holds one chunk of requests in Python, not the file:
600,276 decisions (200,000 households) took the review stage to 1,688 MB when the whole
file was parsed into request objects and decided from memory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlmodel import Session
from zhucun.models import Decision, Plan, ProcedureCase, Strategy
from zhucun.tasks.common import cut_chunks

from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

FILE_ROWS = Table(
    "zc_file_rows",
    MetaData(),
    Column("line", Integer, primary_key=True),
    Column("subject", String),
    Column("subject_id", String),
    Column("stage", String),
    Column("reviewer_id", String),
    Column("decision", String),
    Column("reason", String),
    Column("decided_on", Date),
    Column("details", String),  # JSON of a procedure stage's record, or NULL
    Column("ord", Integer),  # the stage's place in its ladder: the minutes' order
    Column("done", Integer),  # 1: the same accepted decision is in the ledger
    Column("village", String),
    Index("zc_file_rows_village", "village", "done"),  # a chunk's rows, not a scan each
    prefixes=["TEMPORARY"],
)
BATCH = 5_000


COLUMNS = [c.name for c in FILE_ROWS.columns if c.name != "village"]  # `store`'s tuples


def store(
    session: Session, rows: Iterator[tuple[int, rules.Request]], order: Callable[..., int]
) -> int:
    """Write the parsed rows into FILE_ROWS, BATCH at a time, as plain tuples through the
    driver (the ORM's per-row parameter processing doubled the cost); the number written."""
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {FILE_ROWS.name} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(COLUMNS))})"
    )
    n, batch = 0, []
    for line, r in rows:
        batch.append(
            (
                line,
                r.subject,
                r.subject_id,
                r.stage,
                r.reviewer_id,
                r.decision,
                r.reason,
                r.decided_on.isoformat() if sqlite else r.decided_on,
                json.dumps(dict(r.details), ensure_ascii=False) if r.details else None,
                order(r.subject, r.stage),
                0,
            )
        )
        if len(batch) >= BATCH:
            conn.exec_driver_sql(sql, batch)
            n += len(batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)
    return n + len(batch)


def mark(session: Session, cycle_year: int) -> None:
    """`done` for a row whose accepted decision the ledger holds from a file (a re-import
    of edited minutes skips it); `village` of each row's item, as `load_items` reads it (a
    strategy's current version, the plan's village, the case's), NULL for no such item."""
    f, d = FILE_ROWS.c, Decision
    from_files = session.scalar(
        select(d.decision_id)
        .where(d.cycle_year == cycle_year, d.outcome == "accepted", d.channel == "file")
        .limit(1)
    )
    probe = update(FILE_ROWS).values(
        done=case(
            (
                exists().where(
                    d.cycle_year == cycle_year,
                    d.outcome == "accepted",
                    d.channel == "file",
                    d.subject == f.subject,
                    d.subject_id == f.subject_id,
                    d.stage == f.stage,
                    d.reviewer_id == f.reviewer_id,
                    d.decision == f.decision,
                    d.decided_on == f.decided_on,
                ),
                1,
            ),
            else_=0,
        )
    )
    if from_files is not None:  # a first file: nothing is done yet, no probe per row
        session.execute(probe)
    strategy = (
        select(Strategy.village_code)
        .where(
            Strategy.household_id == f.subject_id,
            Strategy.cycle_year == cycle_year,
            Strategy.is_current,
        )
        .limit(1)
        .scalar_subquery()
    )
    plan = (
        select(Plan.village_code)
        .where(Plan.village_code == f.subject_id, Plan.cycle_year == cycle_year)
        .limit(1)
        .scalar_subquery()
    )
    case_ = (
        select(ProcedureCase.village_code)
        .where(
            ProcedureCase.procedure == f.subject,
            ProcedureCase.subject_id == f.subject_id,
            ProcedureCase.cycle_year == cycle_year,
        )
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        update(FILE_ROWS)
        .where(f.done == 0)
        .values(
            village=case(
                (f.subject == "strategy", strategy),
                (f.subject == "plan", plan),
                (f.subject.in_(sorted(proc.PROCEDURES)), case_),
                else_=literal(None, String),
            )
        )
    )


def chunks(session: Session, items_per_chunk: int) -> list[list[str | None]]:
    """The villages of the rows to decide, in order, cut into chunks of about
    `items_per_chunk` items; rows of no known item (refused) go with the first chunk."""
    f = FILE_ROWS.c
    loads = session.execute(
        select(f.village, func.count(func.distinct(f.subject + "/" + f.subject_id)))
        .where(f.done == 0, f.village.is_not(None))
        .group_by(f.village)
        .order_by(f.village)
    )
    cut = cut_chunks(((v, n) for v, n in loads), items_per_chunk)
    return [[None, *(cut[0] if cut else [])], *cut[1:]]


def villages(session: Session) -> list[str]:
    f = FILE_ROWS.c
    return list(session.scalars(select(f.village).distinct().where(f.village.is_not(None))))


def requests(
    session: Session, chunk: list[str | None], *, done: bool = False
) -> Iterator[tuple[int, rules.Request]]:
    """(line, request) of a chunk's rows in the order the minutes were taken (date, then
    stage, then line); with `done`, the rows already applied, in line order."""
    f = FILE_ROWS.c
    if done:
        where: Any = f.done == 1
        order = [f.line]
    else:
        named = [v for v in chunk if v is not None]
        where = and_(
            f.done == 0,
            or_(f.village.in_(named), *([f.village.is_(None)] if None in chunk else [])),
        )
        order = [f.decided_on, f.ord, f.line]
    columns = [f.line, f.subject, f.subject_id, f.stage, f.reviewer_id, f.decision, f.reason]
    # the date as its ISO text: no per-row date processor, on SQLite or PostgreSQL
    columns += [cast(f.decided_on, String), f.details]
    for line, subject, sid, stage, reviewer, decision, reason, on, details in session.execute(
        select(*columns).where(where).order_by(*order)
    ):
        yield (
            line,
            rules.Request(
                subject,
                sid,
                stage,
                reviewer,
                decision,
                reason,
                date.fromisoformat(on),
                json.loads(details) if details else None,
            ),
        )
