"""Bulk inserts in the caller's transaction: COPY on PostgreSQL, executemany on SQLite.

A stage or the import that writes hundreds of thousands of rows through `session.execute(
insert, rows)` spends its time in per-row work: SQLAlchemy binds every parameter in Python
and, on PostgreSQL, a multi-row INSERT is built and parsed per page. `copy_rows` streams
the rows instead: COPY ... FROM STDIN through psycopg 3 (the rows are never all in memory)
or one executemany of a plain INSERT per batch on SQLite. It never commits; the caller owns
the transaction. A failure is told as every zhucun database error is: no row values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Dialect
from sqlmodel import Session

# Types whose Python values every driver takes as they are: their SQLAlchemy bind
# processors only check or coerce (bool → int, int → float), which costs a call per cell.
_NATIVE = (sqltypes.Boolean, sqltypes.Float, sqltypes.Integer, sqltypes.String)


def connection_of(target: Session | Connection) -> Connection:
    """The SQLAlchemy connection of a session (its transaction begun) or a connection."""
    if isinstance(target, Connection):
        if not target.in_transaction():
            target.begin()  # the caller's commit() ends it, as after any execute
        return target
    return target.connection()


def table_of(table: Any) -> Table:
    """A Table, or the table of a SQLModel class."""
    return table if isinstance(table, Table) else table.__table__


def row_converter(
    table: Table, columns: Sequence[str], dialect: Dialect
) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """Python values → what the driver takes, by the columns' own bind processors (JSON as
    its text, a date as SQLite stores it); None when no column needs one."""
    steps: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, _NATIVE):
            continue
        process = kind.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            steps.append((i, process))
    if not steps:
        return None

    def convert(row: Sequence[Any]) -> Sequence[Any]:
        out = list(row)
        for i, process in steps:
            out[i] = process(out[i])
        return out

    return convert


def copy_rows(
    target: Session | Connection,
    table: Any,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch_size: int = 5000,
) -> int:
    """Insert `rows` (sequences of Python values in the order of `columns`, as
    `session.execute(insert(...), ...)` would take them) into `table` (a Table or a SQLModel
    class) and return how many. PostgreSQL: one COPY FROM STDIN streaming the rows; SQLite:
    executemany per `batch_size` rows. No conflict handling: a duplicate key fails the call
    and so the caller's transaction."""
    conn = connection_of(target)
    table = table_of(table)
    dialect = conn.dialect
    columns, stream = _prepared(table, columns, rows, dialect)
    prep = dialect.identifier_preparer
    name = prep.format_table(table)
    names = ", ".join(prep.quote(c) for c in columns)
    if dialect.name == "postgresql":
        return _copy_postgres(conn, f"COPY {name} ({names}) FROM STDIN", stream, table.name)
    if dialect.name == "sqlite":
        return _insert_sqlite(conn, name, names, len(columns), stream, batch_size)
    raise NotImplementedError(f"copy_rows is written for SQLite and PostgreSQL, not {dialect.name}")


def copy_ignore(
    target: Session | Connection,
    table: Any,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    keys: Sequence[str],
) -> int:
    """`INSERT … ON CONFLICT (keys) DO NOTHING` for many rows (a row already there, or met
    twice, is left as it is); returns the rows inserted. PostgreSQL: COPY into a temporary
    table of the columns, then one `INSERT … SELECT` (200,000 helper pairings took 5 s by
    executemany, a fraction of that by COPY). SQLite: one plain executemany per batch of
    tuples; SQLAlchemy's executemany of dictionaries built the parameters of each row in
    Python, 2.3 s of a million helper pairings."""
    conn = connection_of(target)
    table = table_of(table)
    dialect = conn.dialect
    if dialect.name not in ("postgresql", "sqlite"):
        raise NotImplementedError("copy_ignore is written for SQLite and PostgreSQL")
    columns, stream = _prepared(table, columns, rows, dialect)
    prep = dialect.identifier_preparer
    name = prep.format_table(table)
    names = ", ".join(prep.quote(c) for c in columns)
    on = ", ".join(prep.quote(k) for k in keys)
    if dialect.name == "sqlite":
        before = conn.exec_driver_sql("SELECT total_changes()").scalar_one()
        tail = f" ON CONFLICT ({on}) DO NOTHING"
        _insert_sqlite(conn, name, names, len(columns), stream, 5000, tail)
        return int(conn.exec_driver_sql("SELECT total_changes()").scalar_one() - before)
    temp = prep.quote(f"zc_ignore_{table.name}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {temp}")
    # the columns' types only: no constraint, no default, no sequence to draw from
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {temp} AS SELECT {names} FROM {name} WITH NO DATA"
    )
    _copy_postgres(conn, f"COPY {temp} ({names}) FROM STDIN", stream, table.name)
    inserted = conn.exec_driver_sql(
        f"INSERT INTO {name} ({names}) SELECT {names} FROM {temp} ON CONFLICT ({on}) DO NOTHING"
    ).rowcount
    conn.exec_driver_sql(f"DROP TABLE {temp}")
    return int(inserted or 0)


def _insert_sqlite(
    conn: Connection,
    name: str,
    names: str,
    width: int,
    rows: Iterable[Sequence[Any]],
    batch_size: int,
    tail: str = "",
) -> int:
    """SQLite's bulk insert: a plain `INSERT … VALUES (?, …)` (and `tail`, e.g. a conflict
    clause) executed per batch of tuples."""
    marks = ", ".join("?" * width)
    return executemany(
        conn, f"INSERT INTO {name} ({names}) VALUES ({marks}){tail}", rows, batch_size
    )


def executemany(conn: Connection, sql: str, rows: Iterable[Sequence[Any]], batch_size: int) -> int:
    """`sql` once per row, `batch_size` rows per driver call (tuples go to the driver as
    they are; errors pass through zhucun's safe error hook). Returns the rows' count."""
    total = 0
    it = iter(rows)
    while batch := [tuple(r) for r in islice(it, batch_size)]:
        conn.exec_driver_sql(sql, batch)
        total += len(batch)
    return total


def _prepared(
    table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], dialect: Any
) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """The columns with the left-out ones that have a scalar default, and the rows streamed
    with those defaults and converted as a plain insert would store them."""
    stream: Iterator[Sequence[Any]] = iter(rows)
    defaults = _defaults(table, columns)
    if defaults:
        extra = tuple(defaults.values())
        stream = (tuple(row) + extra for row in stream)
    columns = [*columns, *defaults]
    convert = row_converter(table, columns, dialect)
    if convert is not None:
        stream = map(convert, stream)
    return columns, stream


def _defaults(table: Table, columns: Sequence[str]) -> dict[str, Any]:
    """The Python-side scalar defaults of the columns left out, which an insert through
    SQLAlchemy would fill in (the models declare no server defaults)."""
    return {
        c.name: c.default.arg  # type: ignore[union-attr]
        for c in table.columns
        if c.name not in columns and c.default is not None and c.default.is_scalar
    }


def _copy_postgres(
    conn: Connection, sql: str, rows: Iterable[Sequence[Any]], table_name: str
) -> int:
    import psycopg

    from zhucun.db import safe_driver_error

    raw = conn.connection.driver_connection
    n = 0
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                n += 1
    except psycopg.Error as exc:  # told without the row: the driver's text can quote it
        # described as "COPY INTO <table>" (the statement's FROM STDIN names no table)
        raise safe_driver_error(exc, f"COPY INTO {table_name}", psycopg.Error) from None
    return n
