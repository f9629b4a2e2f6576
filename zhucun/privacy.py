"""Masking of personal data. ID numbers, phone numbers and health details stay in the
database; anything that leaves it for a log, an artifact, an event or a public notice goes
through here first."""

from __future__ import annotations

import re


def mask_id_number(value: str | None) -> str:
    """'522626199001011234' → '522626********1234' (area kept, birth date hidden)."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(value: str | None) -> str:
    """'张三丰' → '张**': a public notice shows the surname only where policy asks for it."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)


# Digit runs that may be an ID number (18 with check character, or the old 15), a bank
# account (16–19 digits, also written in groups of four) or a phone number. Matched only
# where no digit touches them, so a 12-digit village code or a date is left alone.
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15,19})(?![0-9A-Za-z])")
_GROUPED_ACCOUNT = re.compile(r"(?<!\d)\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(\+?86[ -]?)?(1[3-9]\d[ -]?\d{4}[ -]?\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")


def _mask_long(match: re.Match[str]) -> str:
    value = match.group(0)
    if len(value) in (15, 18) and (len(value) == 15 or value[:17].isdigit()):
        return mask_id_number(value)
    return "*" * (len(value) - 4) + value[-4:]


def _hide_digits(value: str, keep_first: int, keep_last: int = 4) -> str:
    """Hide every digit but the first `keep_first` and the last `keep_last`."""
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    hidden = set(digits[keep_first : len(digits) - keep_last])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def _mask_mobile(match: re.Match[str]) -> str:
    """'+86 13812345678' → '+86 138****5678' (the country code is not personal)."""
    return (match.group(1) or "") + _hide_digits(match.group(2), 3)


def mask_text(text: str | None) -> str:
    """Mask every ID-number-, bank-account- and phone-like number inside free text.

    For anything that echoes user input or database content into a log, an error, an
    export or a terminal: a reviewer who types an ID number where a cadre ID belongs, a
    reason that quotes a phone number, a driver error that quotes a row."""
    if not text:
        return ""
    if not any(ch.isdigit() for ch in text):
        return text
    text = _LONG_NUMBER.sub(_mask_long, text)
    text = _GROUPED_ACCOUNT.sub(lambda m: _hide_digits(m.group(0), 0), text)
    text = _MOBILE.sub(_mask_mobile, text)
    return _LANDLINE.sub(lambda m: _hide_digits(m.group(0), m.group(0).index("-")), text)
