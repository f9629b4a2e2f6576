"""Bulk writes that make every stage idempotent: INSERT ... ON CONFLICT for SQLite and
PostgreSQL, one executemany per batch (no ORM object per row); and `copy_rows` for plain
inserts of many rows (COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

# COPY on PostgreSQL, executemany on SQLite, for new rows (zhucun/bulk.py: the exchange
# layer uses it too and must not import tasks); re-exported for the stages.
from zhucun.bulk import copy_ignore, copy_rows  # noqa: F401

# From this many rows an insert_ignore on PostgreSQL goes by COPY (a temporary table costs
# two statements more; a few rows are cheaper as they were).
COPY_MIN_ROWS = 1000


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT of the session's dialect, which knows `on_conflict_do_*`."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model.__table__)


def upsert(
    session: Session,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
    where: Any = None,
) -> int:
    """INSERT ... ON CONFLICT (keys) DO UPDATE the `update` columns (default: all but keys).
    `where`: the predicate of a partial unique index on `keys` (its conflict target)."""
    if not rows:
        return 0
    stmt = dialect_insert(session, model)
    cols = list(update) if update is not None else [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), index_where=where, set_={c: stmt.excluded[c] for c in cols}
    )
    session.execute(stmt, [dict(r) for r in rows])
    return len(rows)


def insert_ignore(
    session: Session, model: Any, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> int:
    """INSERT ... ON CONFLICT (keys) DO NOTHING: a row already there is left as it is. On
    PostgreSQL many rows of the same columns go by COPY, on SQLite by a plain executemany of
    tuples (`zhucun.bulk.copy_ignore`)."""
    if not rows:
        return 0
    columns = list(rows[0])
    if (
        len(rows) >= COPY_MIN_ROWS
        and session.get_bind().dialect.name in ("postgresql", "sqlite")
        and all(len(r) == len(columns) and all(c in r for c in columns) for r in rows)
    ):
        copy_ignore(session, model, columns, ([r[c] for c in columns] for r in rows), keys)
        return len(rows)
    stmt = dialect_insert(session, model).on_conflict_do_nothing(index_elements=list(keys))
    session.execute(stmt, [dict(r) for r in rows])
    return len(rows)


@contextmanager
def temporary_tables(session: Session, *tables: Any) -> Iterator[None]:
    """The set-based stages' work tables, created empty for one chunk and dropped after it
    (on failure too): a chunk never sees another chunk's rows."""
    bind = session.connection()
    for t in tables:
        t.drop(bind, checkfirst=True)
        t.create(bind)
    try:
        yield
    finally:
        for t in tables:
            t.drop(bind, checkfirst=True)
