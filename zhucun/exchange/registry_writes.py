"""Writing the registry: upserts with SQLAlchemy Core statements, no ORM object per row.

Each helper takes the session and never commits: the import writes a whole folder in one
transaction, committed once by its caller. An upsert only touches a row whose values
differ (`ON CONFLICT ... DO UPDATE ... WHERE any column IS DISTINCT FROM`), so importing
the same folder twice writes nothing the second time.

`upsert_stream` is the import's path for files of any size: on PostgreSQL the rows go by
COPY into a temporary table and one INSERT ... SELECT ... ON CONFLICT merges them; on
SQLite one executemany per batch of the upsert (or of the plain INSERT, when none of the
batch's keys is stored), each statement compiled once. Both count
inserted rows before the write (keys not yet present) and changed rows from the write's
row count, never with a round trip per row."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    MetaData,
    Table,
    Text,
    and_,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from zhucun.bulk import copy_rows, row_converter
from zhucun.models import AuditEvent

# Rows per COPY-and-merge round on PostgreSQL: bounds the temporary table and the queue of
# foreign-key checks one merge statement holds.
MERGE_ROUND = 500_000
# Keys per `IN (...)` when counting what exists (SQLite allows 32,766 parameters).
IN_CHUNK = 10_000
# SQLite's page cache while a folder is written (KiB): the indexes on ID numbers take rows
# in random order, and with the default 2 MB nearly every insert re-reads a page; 64 MB
# took a third off writing 900,000 members (32 MB did nearly as well, 128 MB no better).
SQLITE_CACHE_KIB = 65_536
# SQLAlchemy keeps an INSERT's row count only when asked (the merge counts by it)
_ROWCOUNT = {"preserve_rowcount": True}


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


def _comparable(column: Any) -> Any:
    """PostgreSQL's json type has no equality operator: compare JSON columns as text."""
    return cast(column, Text) if isinstance(column.type, JSON) else column


def upsert_statement(
    dialect: str, table: Table, key: Sequence[str], insert_only: Sequence[str] = ()
) -> Any:
    """`INSERT ... ON CONFLICT (key) DO UPDATE SET <others> WHERE <some other differs>
    RETURNING <first key column>`: a returned row is one inserted or really updated."""
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    if module is None:
        raise NotImplementedError(f"upsert is written for SQLite and PostgreSQL, not {dialect}")
    stmt = module.insert(table)
    skip = set(key) | set(insert_only)
    updatable = [c for c in table.columns if c.name not in skip and not c.primary_key]
    excluded = stmt.excluded
    differs = or_(
        *(_comparable(c).is_distinct_from(_comparable(excluded[c.name])) for c in updatable)
    )
    return stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={c.name: excluded[c.name] for c in updatable},
        where=differs,
    ).returning(table.c[key[0]])


def upsert_rows(
    *,
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    key: Sequence[str],
    insert_only: Sequence[str] = (),
) -> UpsertCounts:
    """Upsert one batch (keys unique within it) and count what happened to it.

    Keys already present are counted first; rows the statement returns were inserted or
    changed, so updated = returned - inserted and the rest were unchanged."""
    if not rows:
        return UpsertCounts()
    conn = session.connection()
    first = table.c[key[0]]
    firsts = list({r[key[0]] for r in rows})
    if len(key) == 1:
        existing = (
            conn.scalar(select(func.count()).select_from(table).where(first.in_(firsts))) or 0
        )
    else:
        # Row-value IN over a composite key does not use the index on SQLite: fetch the keys
        # under the batch's leading values (indexed) and match the rest here.
        found = {
            tuple(row)
            for row in conn.execute(select(*(table.c[k] for k in key)).where(first.in_(firsts)))
        }
        existing = sum(1 for r in rows if tuple(r[k] for k in key) in found)
    stmt = upsert_statement(conn.dialect.name, table, key, insert_only)
    changed = len(conn.execute(stmt, rows).all())
    inserted = len(rows) - existing
    updated = changed - inserted
    return UpsertCounts(inserted=inserted, updated=updated, unchanged=existing - updated)


def _on_conflict(stmt: Any, table: Table, key: Sequence[str], updatable: Sequence[str]) -> Any:
    """`stmt` (a dialect insert) with ON CONFLICT (key) DO UPDATE SET `updatable` WHERE
    one of them differs; DO NOTHING when every column is key or insert-only."""
    if not updatable:
        return stmt.on_conflict_do_nothing(index_elements=list(key))
    excluded = stmt.excluded
    differs = or_(
        *(_comparable(table.c[c]).is_distinct_from(_comparable(excluded[c])) for c in updatable)
    )
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: excluded[c] for c in updatable}, where=differs
    )


@contextmanager
def write_cache(session: Session) -> Iterator[None]:
    """At least SQLITE_CACHE_KIB of SQLite page cache for the writes of one import, the
    pooled connection's own size restored afterwards (never lowered; PostgreSQL: nothing)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
    kib = -before  # negative: KiB; positive: pages
    if before > 0:
        kib = before * int(conn.exec_driver_sql("PRAGMA page_size").scalar() or 4096) // 1024
    if kib >= SQLITE_CACHE_KIB:
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


def upsert_stream(
    *,
    session: Session,
    table: Table,
    rows: Iterable[dict[str, Any]],
    key: Sequence[str],
    insert_only: Sequence[str] = (),
    batch_size: int = 5000,
) -> UpsertCounts:
    """`upsert_tuples` of rows given as dicts: the first row's keys (those that are
    columns of `table`) are the columns written."""
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return UpsertCounts()
    columns = [c for c in first if c in table.c]
    pick = itemgetter(*columns) if len(columns) > 1 else lambda r: (r[columns[0]],)
    return upsert_tuples(
        session=session,
        table=table,
        columns=columns,
        rows=map(pick, chain([first], it)),
        key=key,
        insert_only=insert_only,
        batch_size=batch_size,
    )


def upsert_tuples(
    *,
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key: Sequence[str],
    insert_only: Sequence[str] = (),
    batch_size: int = 5000,
) -> UpsertCounts:
    """Upsert a stream of rows (values in the order of `columns`; keys unique across the
    stream, as pass 1 checked) and count what happened. A row already stored is updated in
    `columns` only (never in `key` or `insert_only`), and only where one differs; columns
    left out keep their stored value (a village's exit_year), and take their model default
    on insert."""
    supplied = list(columns)
    defaults = {
        c.name: c.default.arg  # type: ignore[union-attr]
        for c in table.columns
        if c.name not in supplied and c.default is not None and c.default.is_scalar
    }
    ordered = [c.name for c in table.columns if c.name in supplied or c.name in defaults]
    updatable = [
        c
        for c in ordered
        if c in supplied and c not in key and c not in insert_only and not table.c[c].primary_key
    ]
    tuples: Iterator[Sequence[Any]] = iter(rows)
    if defaults:
        extra = tuple(defaults.values())
        tuples = (tuple(r) + extra for r in tuples)
        supplied += list(defaults)
    where = [supplied.index(c) for c in ordered]
    if where != list(range(len(supplied))):  # to the table's order, which the SQL has
        pick = itemgetter(*where) if len(where) > 1 else lambda r: (r[where[0]],)
        tuples = map(pick, tuples)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _merge_postgres(conn, table, ordered, updatable, key, tuples)
    if conn.dialect.name == "sqlite":
        return _upsert_sqlite(conn, table, ordered, updatable, key, tuples, batch_size)
    raise NotImplementedError(
        f"upsert is written for SQLite and PostgreSQL, not {conn.dialect.name}"
    )


def _merge_postgres(
    conn: Connection,
    table: Table,
    columns: list[str],
    updatable: list[str],
    key: Sequence[str],
    tuples: Iterator[Sequence[Any]],
) -> UpsertCounts:
    """COPY a round of rows into a temporary table, count the keys not yet in `table`, then
    one INSERT ... SELECT ... ON CONFLICT merges the round: three statements per round."""
    stage = Table(
        f"zhucun_stage_{table.name}",
        MetaData(),
        *(Column(c, table.c[c].type) for c in columns),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    stage_name = conn.dialect.identifier_preparer.format_table(stage)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage_name}")
    stage.create(conn)
    new = select(func.count()).select_from(stage)
    new = new.where(~exists().where(and_(*(table.c[k] == stage.c[k] for k in key))))
    merge = postgresql.insert(table).from_select(columns, select(*(stage.c[c] for c in columns)))
    merge = _on_conflict(merge, table, key, updatable).execution_options(preserve_rowcount=True)
    counts = UpsertCounts()
    while n := copy_rows(conn, stage, columns, islice(tuples, MERGE_ROUND)):
        conn.exec_driver_sql(f"ANALYZE {stage_name}")  # a plan for the count and the merge
        inserted = conn.scalar(new) or 0
        changed = conn.execute(merge).rowcount
        conn.exec_driver_sql(f"TRUNCATE {stage_name}")
        counts.add(_counts(n, inserted, changed))
    conn.exec_driver_sql(f"DROP TABLE {stage_name}")
    return counts


def _upsert_sqlite(
    conn: Connection,
    table: Table,
    columns: list[str],
    updatable: list[str],
    key: Sequence[str],
    tuples: Iterator[Sequence[Any]],
    batch_size: int,
) -> UpsertCounts:
    """One executemany per batch, no RETURNING (which makes SQLAlchemy render and bind
    every row itself); the batch's keys already present are counted first. A batch with
    none of its keys stored (a first import) is written by the plain INSERT: SQLite's
    upsert probes the conflict target before each insert (a bare rewrite of 900,000
    members: 22-26 s against 11-15 s). The count is read in the import's own write
    transaction and the batch's keys are unique (pass 1), so the plain INSERT writes
    exactly what the upsert would."""
    upsert = _sqlite_sql(
        conn, table, columns, _on_conflict(sqlite.insert(table), table, key, updatable)
    )
    insert = _sqlite_sql(conn, table, columns, sqlite.insert(table))
    convert = row_converter(table, columns, conn.dialect)
    at = [columns.index(k) for k in key]
    counts = UpsertCounts()
    while batch := list(islice(tuples, batch_size)):
        if convert is not None:
            batch = [tuple(convert(r)) for r in batch]
        existing = _existing_sqlite(conn, table, key, [tuple(r[i] for i in at) for r in batch])
        sql = upsert if existing else insert
        changed = conn.exec_driver_sql(sql, batch, execution_options=_ROWCOUNT).rowcount
        counts.add(_counts(len(batch), len(batch) - existing, changed))
    return counts


def _sqlite_sql(conn: Connection, table: Table, columns: list[str], stmt: Any) -> str:
    """`stmt` compiled once, its parameters checked to be `columns` in order."""
    compiled = stmt.compile(dialect=conn.dialect, column_keys=columns)
    if list(compiled.positiontup or ()) != columns:
        raise RuntimeError(f"write of {table.name}: unexpected parameter order")
    return str(compiled)


def _existing_sqlite(
    conn: Connection, table: Table, key: Sequence[str], keys: list[tuple[Any, ...]]
) -> int:
    """How many of `keys` (in stored form) are in `table`. A composite key is matched here
    on the rows under the batch's leading values: row-value IN does not use the index on
    SQLite."""
    prep = conn.dialect.identifier_preparer
    name = prep.format_table(table)
    cols = ", ".join(prep.quote(k) for k in key)
    first = prep.quote(key[0])
    found = 0
    for i in range(0, len(keys), IN_CHUNK):
        chunk = keys[i : i + IN_CHUNK]
        leading = list({k[0] for k in chunk})
        marks = ", ".join("?" for _ in leading)
        if len(key) == 1:
            sql = f"SELECT count(*) FROM {name} WHERE {first} IN ({marks})"
            found += conn.exec_driver_sql(sql, tuple(leading)).scalar() or 0
        else:
            sql = f"SELECT {cols} FROM {name} WHERE {first} IN ({marks})"
            stored = {tuple(r) for r in conn.exec_driver_sql(sql, tuple(leading))}
            found += sum(1 for k in chunk if k in stored)
    return found


def _counts(rows: int, inserted: int, changed: int) -> UpsertCounts:
    """`changed` rows were inserted or really updated; the rest of the existing unchanged."""
    updated = changed - inserted
    return UpsertCounts(inserted=inserted, updated=updated, unchanged=rows - inserted - updated)


def record_file_import(
    *, session: Session, file: str, at: Any, counts: dict[str, UpsertCounts], warnings: int
) -> None:
    """One audit row per imported file: counts only, never a person's data."""
    run_id = None
    if "prefect" in sys.modules:  # inside a flow run: link the audit row to it
        from zhucun.tasks.common import current_flow_run_id

        run_id = current_flow_run_id()
    after: dict[str, Any] = {
        table: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
        for table, c in counts.items()
    }
    after["warnings"] = warnings
    session.execute(
        AuditEvent.__table__.insert(),
        [
            {
                "at": at,
                "actor": "zhucun import",
                "action": "registry.import",
                "entity": "file",
                "entity_id": file,
                "before": None,
                "after": after,
                "flow_run_id": run_id,
            }
        ],
    )
