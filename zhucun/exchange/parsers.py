"""Cell parsers of the exchange format. Each takes a stripped, non-empty cell and returns
the value or raises `CellError` with the rule the cell breaks; the message is what an
operator reads after `file:row:column:`, so it never repeats an ID number."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from zhucun.idnumber import IdNumberError, normalise_id_number

Parser = Callable[[str], Any]


class CellError(ValueError):
    """A cell that breaks a rule; str(exc) is the rule."""


class Noted(str):
    """A parsed text value that carries a warning (an upgraded legacy ID number): the cell
    is accepted and `parse_cells` reports `note` as a warning on its row and column."""

    note: str

    def __new__(cls, value: str, note: str) -> Noted:
        obj = super().__new__(cls, value)
        obj.note = note
        return obj


# What the databases can hold: BIGINT on PostgreSQL and SQLite's 64-bit integers; amounts
# and areas well inside a double's exact range. A number beyond is refused at validation,
# the same on both databases, instead of failing in the middle of the write.
INT_MAX = 2**63 - 1
NUMBER_MAX = 1e15


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
    if not value.isascii() or len(value) > 20:
        raise CellError("must be an integer (ASCII digits, within ±9.2e18)")
    try:
        number = int(value)
    except ValueError:
        raise CellError("must be an integer") from None
    if abs(number) > INT_MAX:
        raise CellError("must be an integer (ASCII digits, within ±9.2e18)")
    return number


def parse_number(value: str) -> float:
    if not value.isascii() or len(value) > 40:
        raise CellError(f"must be a number within ±{NUMBER_MAX:.0e}")
    try:
        number = float(value.replace(",", "")) if "," in value else float(value)
    except ValueError:
        raise CellError("must be a number") from None
    if not math.isfinite(number):
        raise CellError("must be a number")
    if abs(number) > NUMBER_MAX:
        raise CellError(f"must be a number within ±{NUMBER_MAX:.0e}")
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
    """A PRC resident ID, normalised (`normalise_id_number`) so a person has one key. The
    rule reported never quotes the number or its birth date (personal data stays out of
    logs)."""
    try:
        number, note = normalise_id_number(value)
    except IdNumberError as exc:
        problem = str(exc)
        if problem.startswith("birth date"):  # the message must not repeat the birth date
            problem = (
                "birth date is out of range"
                if "out of range" in problem
                else "birth date is not a date"
            )
        raise CellError(f"invalid ID number: {problem}") from None
    return Noted(number, note) if note else number


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


def parse_phone(value: str) -> str:
    """A mobile (11 digits, 1…) or a landline with its area code (0…, a dash allowed)."""
    digits_only = value.replace("-", "").replace(" ", "")
    if not (digits_only.isascii() and digits_only.isdigit()):
        raise CellError("must be a phone number (digits, a dash allowed)")
    mobile = len(digits_only) == 11 and digits_only[0] == "1"
    landline = 10 <= len(digits_only) <= 12 and digits_only[0] == "0"
    if not (mobile or landline):
        raise CellError("must be an 11-digit mobile number or a landline with its area code")
    return digits_only


def parse_bank_account(value: str) -> str:
    """A bank card or account number: 12–30 digits (spaces as printed on a card dropped)."""
    number = value.replace(" ", "")
    if not (number.isascii() and number.isdigit() and 12 <= len(number) <= 30):
        raise CellError("must be a bank account number of 12 to 30 digits")
    return number


def parse_disability_cert(value: str) -> str:
    """残疾证号: the holder's ID number plus the category and grade digits (20 characters),
    or the newer 22-character form; never taken for an ID number itself."""
    cert = value.upper()
    if len(cert) not in (20, 22) or not (cert.isascii() and cert.isalnum()):
        raise CellError("must be a disability certificate number of 20 or 22 characters")
    return cert
