"""Headers and cells of an input table, whatever file it came from (`sources` opens CSV and
xlsx): how a header maps onto a spec, and how one row's cells parse, with every problem
as `file:row:column: rule`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from zhucun.exchange.parsers import CellError, Parser, parse_str
from zhucun.exchange.specs import FileSpec

EMPTY_RULE = "must not be empty"

# A column's cell → value, remembered per file for values of these exact types (a list
# could be changed by its user; a `Noted` carries a warning per row). Most columns hold a
# few distinct cells (booleans, codes, small counts): a dict lookup instead of a parser
# call. A column of unique cells (ID numbers) fills its memo and then only misses.
_MEMO_TYPES = frozenset({str, bool, int, float, date})
MEMO_SIZE = 2048
_MISS = object()


_BREAKS = str.maketrans({"\n": "⏎", "\r": "⏎", "\t": " ", "\x0b": " ", "\x0c": " "})


def message(file: str, line: int, column: str, rule: str) -> str:
    """`file:row:column: rule` on one line, whatever a header or a file name held (a column
    label is the file's own text, so a line break in it must not split the message)."""
    text = f"{file}:{line}:{column}: {rule}"
    return text.translate(_BREAKS)


@dataclass
class Issues:
    """Errors and warnings as `file:row:column: rule`, all counted, the first `keep` kept."""

    keep: int = 1000
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    warnings_by_file: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def error(self, file: str, line: int, column: str, rule: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.keep:
            self.errors.append(message(file, line, column, rule))

    def warn(self, file: str, line: int, column: str, rule: str) -> None:
        self.warning_count += 1
        self.warnings_by_file[file] = self.warnings_by_file.get(file, 0) + 1
        if len(self.warnings) < self.keep:
            self.warnings.append(message(file, line, column, rule))


@dataclass(frozen=True)
class Field:
    key: str  # the English column name: the key of the parsed row
    label: str  # the header as written in the file, for messages
    index: int
    parse: Parser
    cell_optional: bool
    default: Any


@dataclass
class Layout:
    """Where each column of a spec sits in one file, and the defaults of absent columns."""

    spec: FileSpec
    fields: list[Field]
    absent: dict[str, Any]
    width: int
    # per field: (index, key, parser or None for text kept as it is, cell optional,
    # default, label, memo); built once, so the row loop reads no attributes
    plan: list[tuple[int, str, Parser | None, bool, Any, str, dict[str, Any]]] = field(
        init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.plan = [
            (
                f.index,
                f.key,
                None if f.parse is parse_str else f.parse,
                f.cell_optional,
                f.default,
                f.label,
                {},
            )
            for f in self.fields
        ]

    def label(self, key: str) -> str:
        for f in self.fields:
            if f.key == key:
                return f.label
        return key


def layout_for(
    spec: FileSpec, header: list[str], issues: Issues, *, ignore_unknown: bool
) -> Layout | None:
    """Map a header onto the spec; report unknown, duplicate and missing columns (line 1).
    None when the file cannot be read as this spec."""
    known = spec.by_header()
    seen: dict[str, str] = {}
    fields: list[Field] = []
    ok = True
    for index, label in enumerate(header):
        col = known.get(label)
        if col is None:
            if ignore_unknown:
                issues.notes.append(f"{spec.name}: unknown column {label!r} ignored")
            else:
                issues.error(
                    spec.name,
                    1,
                    label or f"column {index + 1}",
                    "unknown column (use --ignore-unknown-columns to skip it)",
                )
                ok = False
            continue
        if col.name in seen:
            issues.error(spec.name, 1, label, f"duplicate column (same as {seen[col.name]})")
            ok = False
            continue
        seen[col.name] = label
        fields.append(Field(col.name, label, index, col.parse, col.cell_optional, col.default))
    absent: dict[str, Any] = {}
    for col in spec.columns:
        if col.name in seen:
            continue
        if col.column_optional:
            absent[col.name] = col.default
        else:
            issues.error(spec.name, 1, col.name, "missing required column")
            ok = False
    return Layout(spec, fields, absent, len(header)) if ok else None


def parse_cells(
    layout: Layout, line: int, cells: list[str], issues: Issues
) -> tuple[dict[str, Any] | None, bool]:
    """(values, ok). A cell that breaks a rule is reported and left out of `values`, so the
    row's good keys still count for duplicate and reference checks. A row with a wrong
    number of fields gives (None, False): its cells cannot be trusted to be in place."""
    name = layout.spec.name
    if len(cells) != layout.width:
        issues.error(name, line, "*", f"has {len(cells)} fields, the header has {layout.width}")
        return None, False
    values = dict(layout.absent)
    ok = True
    for index, key, parse, cell_optional, default, label, memo in layout.plan:
        cell = cells[index]
        if parse is not None:  # a cell seen before in this column, as written
            value = memo.get(cell, _MISS)
            if value is not _MISS:
                values[key] = value
                continue
        raw = cell.strip()
        if not raw:
            if cell_optional:
                values[key] = default
            else:
                issues.error(name, line, label, EMPTY_RULE)
                ok = False
            continue
        if parse is None:  # free text: the stripped cell itself
            values[key] = raw
            continue
        try:
            value = parse(raw)
        except CellError as exc:
            issues.error(name, line, label, str(exc))
            ok = False
            continue
        if type(value) in _MEMO_TYPES:
            if len(memo) < MEMO_SIZE:
                memo[cell] = value
        else:
            note = getattr(value, "note", None)
            if note:
                issues.warn(name, line, label, note)
                if isinstance(value, str):
                    value = str(value)  # plain text from here on (pass 2 keeps it)
        values[key] = value
    return values, ok
