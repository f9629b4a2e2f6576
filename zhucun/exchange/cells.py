"""Cells safe to open in Excel: text that starts like a formula is neutralised.

A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
Excel and LibreOffice (`=HYPERLINK(...)` phones home, `+cmd|' /C calc'!A0` starts a
program). OWASP's advice: prefix such text with a single quote, which the spreadsheet shows
as text. Only text is touched — a negative amount is a number and stays one."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """'=1+1' → "'=1+1"; anything else unchanged."""
    return "'" + text if text.startswith(FORMULA_START) else text
