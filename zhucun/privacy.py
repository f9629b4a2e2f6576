"""Masking of personal data. ID numbers, phone numbers and health details stay in the
database; anything that leaves it for a log, an artifact, an event or a public notice goes
through here first."""

from __future__ import annotations


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
