"""Writing the registry: batched upserts with SQLAlchemy Core, no ORM object per row.

Each helper takes the session and never commits: the import writes a whole folder in one
transaction, committed once by its caller. An upsert only touches a row whose values
differ (`ON CONFLICT ... DO UPDATE ... WHERE any column IS DISTINCT FROM`), so importing
the same folder twice writes nothing the second time."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Table, Text, cast, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from zhucun.models import AuditEvent


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
