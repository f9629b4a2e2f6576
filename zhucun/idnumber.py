"""PRC resident identity numbers (GB 11643-1999): 6-digit area code, 8-digit birth date,
3-digit sequence (odd = male), and an ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

from datetime import date
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO = ord("0") * sum(_WEIGHTS)  # what the ASCII codes add over the digits' values


def check_character(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) == 17 and first17.isascii() and first17.isdigit():
        # the weighted sum over the ASCII codes, in C: an import checks millions of them
        total = sum(map(mul, first17.encode(), _WEIGHTS)) - _ZERO
    else:
        total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


# Birth-date fields (YYYYMMDD) already judged: a million ID numbers hold some 30,000 dates.
# Only verdicts that cannot change are kept: not a date, before 1900, or on or before a day
# known to be past (a date after it is asked of `date.today()` again).
_BIRTHS: dict[str, str | None] = {}
_KNOWN_PAST = date.today()


def _birth_problem(digits: str) -> str | None:
    known = _BIRTHS.get(digits, "")
    if known != "":
        return known
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        problem: str | None = f"birth date {digits} is not a date"
    else:
        if born.year < 1900 or born > date.today():
            problem = f"birth date {born.isoformat()} is out of range"
            if born.year >= 1900:
                return problem  # in the future today, maybe not tomorrow
        else:
            problem = None
            if born > _KNOWN_PAST:
                return problem
    if len(_BIRTHS) < 100_000:
        _BIRTHS[digits] = problem
    return problem


def id_number_problem(value: str) -> str | None:
    """Why `value` is not a valid resident ID number, or None when it is."""
    if len(value) != 18:
        return f"must be 18 characters, got {len(value)}"
    body, last = value[:17], value[17].upper()
    if not (body.isascii() and body.isdigit()) or not (last.isdigit() or last == "X"):
        return "must be 17 digits followed by a digit or X"
    problem = _birth_problem(body[6:14])
    if problem is not None:
        return problem
    if check_character(body) != last:
        return "check character does not match (ISO 7064 MOD 11-2)"
    return None


_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")


class IdNumberError(ValueError):
    """Why a cell is not an ID number; never quotes the number (it is personal data)."""


def normalise_id_number(raw: str) -> tuple[str, str | None]:
    """(the 18-character ID number a person is known by, a note or None).

    People must compare equal however the number was typed, so full-width digits (as an IME
    types them) become ASCII and a lower-case x upper-case; a legacy 15-digit number (before
    1999: no century, no check character) is upgraded with the century 19 and its check
    character, with a note. Any other non-ASCII digit (Arabic-Indic, superscript…) is
    refused: Python's `isdigit` would let it through and two spellings of one person would
    then be two people."""
    value = raw.strip().translate(_FULL_WIDTH).upper()
    if not value.isascii():
        raise IdNumberError("must be ASCII digits (and X): other digit forms are not accepted")
    note = None
    if len(value) == 15 and value.isdigit():
        body = value[:6] + "19" + value[6:]
        value = body + check_character(body)
        note = "legacy 15-digit ID number upgraded to 18 digits"
    problem = id_number_problem(value)
    if problem is not None:
        raise IdNumberError(problem)
    return value, note


def make_id_number(area_code: str, born: date, sequence: int) -> str:
    """A valid ID number; `sequence` odd for a man, even for a woman (as the standard says)."""
    body = f"{area_code[:6]}{born:%Y%m%d}{sequence % 1000:03d}"
    return body + check_character(body)


def birth_year(value: str) -> int:
    return int(value[6:10])


def is_male(value: str) -> bool:
    return int(value[16]) % 2 == 1
