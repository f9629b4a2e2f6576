"""Engine and session plumbing. Engines are created on first use and cached per URL.

Persistence helpers elsewhere take a session and never commit; the unit of work that
opens a session (a task, a CLI command) commits once.

A database error must not carry personal data into a run's state, a log or an event: every
engine hides bound parameters (`hide_parameters=True`) and turns driver errors into a
`DatabaseFailure` that names the operation, the error class and the SQLSTATE, never the
driver's text (which can quote a row: "Key (id_number)=(...) already exists").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from zhucun.settings import get_settings, on_reset


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # A province's database is gigabytes: SQLite's default 2 MB page cache made every index
    # probe of a large import or stage a disk read. 128 MB per connection (SQLite keeps one
    # writer; the pool holds a few), temporary tables and sorts in memory.
    cur.execute("PRAGMA cache_size=-131072")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


# SQLSTATEs an operator meets, named (the code alone is in every message).
_SQLSTATE_NAMES = {
    "55P03": "lock timeout",
    "40P01": "deadlock",
    "40001": "serialization failure",
    "57014": "statement cancelled or timed out",
    "23505": "duplicate key",
    "23503": "foreign key violation",
    "23502": "missing value",
    "53300": "too many connections",
}
_OPERATION = re.compile(r"^\s*(\w+)")
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?(\w+)", re.IGNORECASE)


class DatabaseFailure(Exception):
    """A database error told safely: operation, driver error class, SQLSTATE; no values."""

    def __init__(self, message: str, *, operation: str = "", sqlstate: str | None = None):
        Exception.__init__(self, message)  # not the SQLAlchemy base's, when mixed in
        self.operation = operation
        self.sqlstate = sqlstate

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> Any:  # pickled (results, process pools) as the plain, safe kind
        return (_rebuild_failure, (str(self), self.operation, self.sqlstate))


def _rebuild_failure(message: str, operation: str, sqlstate: str | None) -> DatabaseFailure:
    return DatabaseFailure(message, operation=operation, sqlstate=sqlstate)


@lru_cache(maxsize=32)
def _safe_class(base: type[sa_exc.DBAPIError]) -> type[DatabaseFailure]:
    """DatabaseFailure that still is the SQLAlchemy class raised (`except IntegrityError`
    keeps working)."""
    return type(f"Safe{base.__name__}", (DatabaseFailure, base), {})


def describe_db_error(orig: BaseException | None, statement: str | None) -> tuple[str, str | None]:
    """('database error in UPDATE household: LockNotAvailable, SQLSTATE 55P03 (lock
    timeout)', '55P03') — built from the statement's verb and table and the driver's codes."""
    verb = _OPERATION.match(statement or "")
    table = _TABLE.search(statement or "")
    operation = " ".join(p for p in (verb and verb.group(1).upper(), table and table.group(1)) if p)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    detail = f", SQLSTATE {code}" if code else ""
    if not code and getattr(orig, "sqlite_errorname", None):
        code = orig.sqlite_errorname  # type: ignore[union-attr]
        detail = f", {code}"
    name = _SQLSTATE_NAMES.get(code or "")
    where = f" in {operation}" if operation else ""
    detail += f" ({name})" if name else ""
    return f"database error{where}: {type(orig).__name__}{detail}", code


def _safe_error(ctx: Any) -> BaseException | None:  # sqlalchemy ExceptionContext
    """`handle_error` hook: replace a driver error by its safe description."""
    error = ctx.sqlalchemy_exception
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    return _safe_from(error, ctx.original_exception, ctx.statement)


def safe_driver_error(
    orig: BaseException, statement: str, dbapi_base: type[Exception]
) -> DatabaseFailure:
    """The safe error for a driver error raised outside SQLAlchemy's execution (a COPY on
    the driver connection): the SQLAlchemy class it would have been, told without values."""
    error = sa_exc.DBAPIError.instance(statement, None, orig, dbapi_base, hide_parameters=True)
    assert isinstance(error, sa_exc.DBAPIError)
    return _safe_from(error, orig, statement)


def _safe_from(error: sa_exc.DBAPIError, orig: BaseException | None, statement: str | None) -> Any:
    message, code = describe_db_error(orig, statement)
    safe = _safe_class(type(error)).__new__(_safe_class(type(error)))
    DatabaseFailure.__init__(safe, message, operation=message, sqlstate=code)
    safe.statement, safe.params, safe.orig = None, None, None
    safe.hide_parameters, safe.detail, safe.ismulti = True, [], None
    safe.connection_invalidated = error.connection_invalidated
    safe.code = error.code
    return safe


def _connect_options(url: str) -> dict[str, Any]:
    """PostgreSQL session options. Every statement is planned for its own values
    (`plan_cache_mode=force_custom_plan`): psycopg prepares a statement once it has run five
    times, and PostgreSQL then kept a generic plan, which for an `IN` list of bound IDs
    compares every row of the table with every parameter (a county's review sync spent
    11.7 s of 15.4 s so). No JIT compilation (`jit=off`): the stages' set-based statements
    over a chunk are costed above PostgreSQL's JIT thresholds, and compiling them (120
    functions, inlined and optimised) took longer than running them — the monitoring's
    candidates read of a 200,000-household county 8.3 s with, 2.2 s without. And a lock
    timeout from settings, so a run blocked by a held row lock fails (safely) instead of
    waiting for ever."""
    if not url.startswith("postgresql"):
        return {}
    options = ["-c plan_cache_mode=force_custom_plan", "-c jit=off"]
    timeout = get_settings().db_lock_timeout_ms
    if timeout:
        options.append(f"-c lock_timeout={int(timeout)}")
    return {"connect_args": {"options": " ".join(options)}}


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            hide_parameters=True,
            **_connect_options(url),
        )
    event.listen(engine, "handle_error", _safe_error)
    return engine


def get_engine() -> Engine:
    return engine_for(get_settings().effective_database_url)


def dispose_engines() -> None:
    engine_for.cache_clear()


on_reset(dispose_engines)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session whose work is committed once at the end, or rolled back whole."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# The tables the stages read by chunk (PostgreSQL analyzes these; SQLite analyzes all).
STAGE_TABLES = (
    "household",
    "householdassessment",
    "strategy",
    "strategymeasure",
    "survey",
    "helperassignment",
    "evaluation",
    "monitoringcase",
    "reviewstate",
)


def refresh_planner_statistics(session: Session) -> None:
    """Sampled table statistics for the query planner, when a stage plans its chunks.

    Without them SQLite took `household.status` as selective and scanned every poor household
    of the database for each chunk of villages (a province's stages grew with the square of
    its size); PostgreSQL, right after a bulk import or stage, still believed the assessment
    table held a hundred rows and joined it by nested loops (autovacuum comes later). A
    sample of about 10,000 rows per index (SQLite) or table (PostgreSQL: statistics target
    30, 9,000 rows, for this ANALYZE only) costs little: PostgreSQL's default sample (30,000
    rows, histograms of 100) took 1.1–1.6 s of every stage of a 200,000-household county,
    0.35 s so; autovacuum later analyzes with its own target."""
    from sqlalchemy import text

    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("PRAGMA analysis_limit=10000"))
        session.execute(text("ANALYZE"))
    elif dialect == "postgresql":
        session.execute(text("SET LOCAL default_statistics_target = 30"))
        session.execute(text(f"ANALYZE {', '.join(STAGE_TABLES)}"))
