"""The `zhucun export --xlsx` workbook: a sheet per output file, for people.

Chinese header row (labels.py), frozen so it stays in view, sensible column widths, and IDs
and codes held as text, so Excel neither drops leading zeros nor rounds long digits. Written
with openpyxl's write_only mode: rows go to disk as they come, memory stays flat."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook as _Book
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from zhucun.exchange.labels import TEXT_COLUMNS, label, width
from zhucun.exchange.sources import SHEET_TITLES


class Sheet:
    def __init__(self, ws: Any, header: Sequence[str], text: Callable[[Any, str], str]) -> None:
        self.ws = ws
        self.text = text
        self.header = list(header)
        self.as_text = [name in TEXT_COLUMNS for name in header]

    def value(self, value: Any, as_text: bool, column: str = "") -> Any:
        """Numbers and dates stay numbers and dates (Excel can sum and sort them); IDs,
        codes, lists, JSON and timestamps with a zone are the CSV's text."""
        if value is None:
            return None
        if as_text or isinstance(value, str | list | dict | bool):
            return self.text(value, column)
        if isinstance(value, datetime):
            return self.text(value, column) if value.tzinfo is not None else value
        if isinstance(value, int | float | date):
            return value
        return self.text(value, column)

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        columns = list(zip(self.as_text, self.header, strict=True))
        for row in rows:
            self.ws.append([self.value(v, t, c) for v, (t, c) in zip(row, columns, strict=True)])


class Workbook:
    """Use as a context manager: the file appears, complete, only on a clean exit."""

    def __init__(self, path: Path, text: Callable[[Any, str], str]) -> None:
        self.path = path
        self.text = text
        self.book = _Book(write_only=True)
        self.bold = Font(bold=True)

    def sheet(self, name: str, header: Sequence[str]) -> Sheet:
        stem = name.removesuffix(".csv")
        ws = self.book.create_sheet(SHEET_TITLES.get(stem, stem)[:31])
        ws.freeze_panes = "A2"
        for i, column in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width(column)
        cells = []
        for column in header:
            c = WriteOnlyCell(ws, value=label(column))
            c.font = self.bold
            cells.append(c)
        ws.append(cells)
        return Sheet(ws, header, self.text)

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.book.save(tmp)
        os.replace(tmp, self.path)
