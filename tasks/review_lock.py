"""Serialising review writes, so that a decision that reads the ledger (approver counts,
"nobody decides twice", "never two stages") reads it with no concurrent writer in between.

- SQLite: the write transaction begins *before* the first read (`BEGIN IMMEDIATE`). SQLite
  has one writer at a time anyway (zhucun.db sets WAL and a 30 s busy timeout, so a second
  writer waits instead of failing); taking the write lock first means a transaction never
  reads a snapshot that another writer changes before it writes.
- PostgreSQL: a transaction-scoped advisory lock per (cycle, village), taken in sorted
  order (no deadlock between two batches). Items of one village share one lock: a batch
  reads the whole village's history, and a village has one review at a time. After the
  lock, READ COMMITTED statements see what the previous holder committed.
- The clock: decisions are dated and publicity windows opened by the server's date in
  Asia/Shanghai (the date a village clerk would write), never the caller's.

The partial unique indexes on `decision` (models.audit) stay the guarantee if a writer
ever bypasses these locks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session
from zhucun.tasks.common import now

CHINA = ZoneInfo("Asia/Shanghai")


def server_today(at: datetime | None = None) -> date:
    """Today in China by the server's clock (a decision at 01:00 Beijing is that day's)."""
    return (at or now()).astimezone(CHINA).date()


def begin_write(session: Session) -> None:
    """On SQLite, begin the transaction as the writer now, before anything is read. A
    transaction that already wrote holds the write lock and is left as it is."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def locks_villages(session: Session) -> bool:
    """Whether `lock_villages` takes locks (PostgreSQL): else its callers need not read
    which villages their items are in."""
    return session.connection().dialect.name == "postgresql"


def lock_villages(session: Session, cycle_year: int, villages: Iterable[str]) -> None:
    """On PostgreSQL, hold the review lock of each village until the transaction ends."""
    if not locks_villages(session):
        return
    conn = session.connection()
    for v in sorted(set(villages)):
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"review:{cycle_year}:{v}"}
        )


def lock_key(session: Session, key: str) -> None:
    """On PostgreSQL, hold a named lock until the transaction ends (e.g. one file's hash)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
