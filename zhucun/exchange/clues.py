"""The file of monitoring clues (防止返贫监测线索): sector alerts (医保 / 民政 / 教育 / 应急 /
住建 pushes) and cadres' visit findings, one row a clue, CSV or .xlsx, English or Chinese
headers, codes or their Chinese words. Read with the exchange reader, so every problem
is one line `file:row:column: rule` and the CLI writes nothing unless every row is valid.

The generator writes the same columns (`CLUE_HEADER`) beside the registry files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zhucun.exchange.parsers import Parser, enum, parse_date, parse_str
from zhucun.exchange.reader import Issues, layout_for, message, parse_cells
from zhucun.exchange.sources import SourceError, open_table
from zhucun.exchange.specs import NON_NEGATIVE, Col, FileSpec, optional
from zhucun.models.monitoring import (
    CHANNEL_ZH,
    CLUE_KIND_ZH,
    SECTOR_ZH,
    ClueChannel,
    ClueKind,
    ClueSector,
)
from zhucun.rules.monitoring import ClueRecord

CLUES_STEM = "monitoring_clues"  # what the generator writes (.csv or .xlsx); any name is read


def _enum(values: type, zh: dict, extra: dict[str, str] | None = None) -> Parser:
    aliases = {word: code.value for code, word in zh.items()} | (extra or {})
    return enum([m.value for m in values], aliases)


CHANNEL = _enum(ClueChannel, CHANNEL_ZH, {"自主申报": "self_report", "走访排查": "visit"})
SECTOR = _enum(ClueSector, SECTOR_ZH, {"应急": "emergency", "医疗保障": "medical"})
KIND = _enum(ClueKind, CLUE_KIND_ZH)
COLUMNS = (
    Col("household_id", parse_str, "户编号"),
    optional("channel", CHANNEL, "渠道"),
    optional("sector", SECTOR, "部门", default=""),
    Col("kind", KIND, "线索类型"),
    optional("amount_yuan", NON_NEGATIVE, "金额"),
    Col("reported_on", parse_date, "发现日期"),
    optional("reported_by", parse_str, "报告人", default=""),
    optional("note", parse_str, "说明", default=""),
)
CLUE_HEADER = tuple(c.name for c in COLUMNS)


@dataclass
class ClueFile:
    """What a file gave: the records with the row each came from, or the problems."""

    label: str
    records: list[ClueRecord] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # file row of each record
    labels: dict[str, str] = field(default_factory=dict)  # column key → header as written
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def refusal(self, index: int, column: str, rule: str) -> str:
        """A refusal found after parsing (a rule, the registry) as `file:row:column: rule`,
        the column named as the file's header wrote it."""
        key = _RULE_COLUMNS.get(column, column)
        return message(self.label, self.lines[index], self.labels.get(key, key), rule)


# the rules' column names → the file's
_RULE_COLUMNS = {"household": "household_id", "amount": "amount_yuan"}


def read_clues(path: Path | str) -> ClueFile:
    """Parse every row; problems are collected, never raised (a broken file is one)."""
    path = Path(path)
    out = ClueFile(path.name)
    spec = FileSpec(path.name, "monitoringclue", ("household_id",), COLUMNS)
    issues = Issues(keep=200)
    try:
        with open_table(path) as src:
            header = [h.strip() for h in (src.read_header() or [])]
            if not header:
                issues.error(path.name, 1, "*", "the file is empty: a header row is needed")
            layout = layout_for(spec, header, issues, ignore_unknown=False) if header else None
            if layout is not None:
                out.labels = {f.key: f.label for f in layout.fields}
                for line, cells in src.rows():
                    values, ok = parse_cells(layout, line, cells, issues)
                    if not ok or values is None:
                        continue
                    channel = values.get("channel") or (
                        ClueChannel.sector.value if values.get("sector") else ""
                    )
                    out.records.append(
                        ClueRecord(
                            household_id=values["household_id"].strip(),
                            channel=channel,
                            kind=values["kind"],
                            reported_on=values["reported_on"],
                            sector=values.get("sector") or "",
                            amount_yuan=values.get("amount_yuan"),
                            reported_by=(values.get("reported_by") or "").strip(),
                            note=values.get("note") or "",
                        )
                    )
                    out.lines.append(line)
    except SourceError as exc:
        issues.error(path.name, exc.line, "*", exc.rule)
    out.errors, out.error_count = issues.errors, issues.error_count
    return out
