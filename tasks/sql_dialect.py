"""One SQL template for SQLite and PostgreSQL, for the set-based stages that compute rules
in the database (`causes_sql`, `evaluation_sql`).

The templates are written for both: GREATEST and LEAST as scalar functions, TRUE and FALSE,
and the formatting functions below wherever a number becomes text. Python formats with
`format` (correctly rounded, halves to even by the exact binary value) where SQLite's printf
and round() round halves differently, so on SQLite the functions are Python's own,
registered on the connection (`register_formats`); on PostgreSQL `to_char`, which formats a
double by its exact binary value, half to even, as Python does (2.675 → 2.67, 0.125 → 12%).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

# name → (Python's formatting, registered on SQLite; PostgreSQL's expression for argument \1)
FORMATS: dict[str, tuple[Callable[[float], Any], str]] = {
    "zc_pct": (lambda x: f"{x:.0%}", r"(to_char(\1 * 100, 'FM999999999990') || '%')"),
    "zc_fix0": (lambda x: f"{x:.0f}", r"to_char(\1, 'FM999999999999990')"),
    "zc_fix2": (lambda x: f"{x:.2f}", r"to_char(\1, 'FM999999999990.00')"),
    "zc_round3": (lambda x: round(x, 3), r"CAST(to_char(\1, 'FM990.000') AS float8)"),
}

_LITERAL = re.compile(r"(?<![\w.'])(\d+\.\d+)(?![\w.'])")


def for_dialect(sql: str, dialect: str) -> str:
    """The statement in the dialect's words. SQLite: its two-argument max/min, its own JSON
    functions, the formatting functions as registered. PostgreSQL: decimal literals as double
    precision (numeric arithmetic ranked 0.8 + 0.1 and 0.6 + 0.15 x 2 as a tie where Python's
    floats do not), REAL as double precision (it is 4 bytes there), `to_char` for the
    formatting functions, its JSON builders."""
    if dialect == "sqlite":
        return sql.replace("GREATEST(", "max(").replace("LEAST(", "min(")
    sql = _LITERAL.sub(r"\1::float8", sql).replace("AS REAL", "AS DOUBLE PRECISION")
    for name, (_, postgres) in FORMATS.items():
        sql = re.sub(rf"{name}\((\w+)\)", postgres, sql)
    return sql.replace("json_object(", "json_build_object(").replace(
        "json_array(", "json_build_array("
    )


def register_formats(session: Session) -> None:
    """Register the formatting functions on this session's connection (SQLite only)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    raw = session.connection().connection.dbapi_connection
    for name, (python, _) in FORMATS.items():
        raw.create_function(name, 1, python, deterministic=True)
