"""Cell parsers of the exchange format. Each takes a stripped, non-empty cell and returns
the value or raises `CellError` with the rule the cell breaks; the message is what an
operator reads after `file:row:column:`, so it never repeats an ID number."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from zhucun.idnumber import id_number_problem

Parser = Callable[[str], Any]


class CellError(ValueError):
    """A cell that breaks a rule; str(exc) is the rule."""


_TRUE = frozenset({"true", "1", "yes", "是", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "否", "n", "f"})
BOOL_RULE = "must be a boolean (true/false, 1/0, yes/no, 是/否)"


def parse_bool(value: str) -> bool:
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise CellError(BOOL_RULE)


def parse_str(value: str) -> str:
    return value


def parse_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CellError("must be an integer") from None


def parse_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CellError("must be a number") from None
    if not math.isfinite(number):
        raise CellError("must be a number")
    return number


def at_least(parser: Parser, low: float) -> Parser:
    """`parser` followed by a lower bound (ints print without a decimal point)."""
    rule = f"must be ≥ {low:g}"

    def parse(value: str) -> Any:
        number = parser(value)
        if number < low:
            raise CellError(rule)
        return number

    return parse


def between(parser: Parser, low: int, high: int) -> Parser:
    rule = f"must be between {low} and {high}"

    def parse(value: str) -> Any:
        number = parser(value)
        if not low <= number <= high:
            raise CellError(rule)
        return number

    return parse


def digits(n: int) -> Parser:
    """A code of exactly `n` digits (village 12, township 9, county 6)."""
    rule = f"must be {n} digits"

    def parse(value: str) -> str:
        if len(value) != n or not value.isdigit() or not value.isascii():
            raise CellError(rule)
        return value

    return parse


def parse_id_number(value: str) -> str:
    """A PRC resident ID; a lower-case x is stored upper-case so a person has one key. The
    rule reported never quotes the number or its birth date (personal data stays out of
    logs)."""
    problem = id_number_problem(value)
    if problem is not None:
        if problem.startswith("birth date"):  # the message must not repeat the birth date
            problem = (
                "birth date is out of range"
                if "out of range" in problem
                else "birth date is not a date"
            )
        raise CellError(f"invalid ID number: {problem}")
    return value.upper()


def parse_date(value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise CellError("must be a date YYYY-MM-DD") from None


def enum(values: Iterable[str], aliases: Mapping[str, str] | None = None) -> Parser:
    """One of `values`, or a Chinese alias of one (东部 → east)."""
    table = {v: v for v in values}
    rule = "must be one of " + ", ".join(table)
    if aliases:
        table.update(aliases)
        rule += " (or " + "/".join(aliases) + ")"

    def parse(value: str) -> str:
        try:
            return table[value]
        except KeyError:
            raise CellError(rule) from None

    return parse


def str_list(value: str) -> list[str]:
    """`a;b;c` → ['a', 'b', 'c'], blanks dropped, first occurrence kept."""
    out: list[str] = []
    for part in value.split(";"):
        item = part.strip()
        if item and item not in out:
            out.append(item)
    return out


def enum_list(values: Iterable[str]) -> Parser:
    names = list(values)
    allowed = frozenset(names)
    rule = "must be a ;-separated list of " + ", ".join(names)

    def parse(value: str) -> list[str]:
        items = str_list(value)
        if not items or any(item not in allowed for item in items):
            raise CellError(rule)
        return items

    return parse
