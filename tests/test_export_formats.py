"""`zhucun export` for Excel users: a BOM by default, `--encoding gb18030` for older Excel,
and `--xlsx` with Chinese headers, a frozen header row and IDs kept as text."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
from sqlalchemy import update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner
from zhucun.models import Shortage

from tests.support.registry_fixtures import V1, valid_folder
from tests.test_export import _seed_lifecycle
from zhucun.cli import app
from zhucun.exchange.importer import import_folder
from zhucun.exchange.labels import COLUMN_LABELS, label
from zhucun.exchange.sources import SHEET_TITLES
from zhucun.exchange.specs import OUTPUT_COLUMNS

runner = CliRunner()
REASON = "缺少卫生专业干部"


def _seeded(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "in")).ok
    _seed_lifecycle(engine)
    with engine.begin() as conn:
        conn.execute(update(Shortage).values(reason=REASON))


def _rows(path: Path, encoding: str) -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


def test_every_output_column_has_a_chinese_label() -> None:
    for header in OUTPUT_COLUMNS.values():
        for column in header:
            assert column in COLUMN_LABELS, column
    for name in OUTPUT_COLUMNS:
        assert name.removesuffix(".csv") in SHEET_TITLES, name


def test_csv_has_a_bom_by_default(engine: Engine, tmp_path: Path) -> None:
    _seeded(engine, tmp_path)
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["encoding"] == "utf-8-sig"
    for name in OUTPUT_COLUMNS:
        assert (tmp_path / "out" / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    # the header stays the contract's English codes
    assert _rows(tmp_path / "out" / "shortages.csv", "utf-8-sig")[0] == list(
        OUTPUT_COLUMNS["shortages.csv"]
    )


def test_gb18030_round_trips(engine: Engine, tmp_path: Path) -> None:
    _seeded(engine, tmp_path)
    assert runner.invoke(app, ["export", str(tmp_path / "utf8")]).exit_code == 0
    gb = runner.invoke(app, ["export", str(tmp_path / "gb"), "--encoding", "gb18030"])
    assert gb.exit_code == 0, gb.output
    raw = (tmp_path / "gb" / "shortages.csv").read_bytes()
    assert REASON.encode("gb18030") in raw and not raw.startswith(b"\xef\xbb\xbf")
    for name in OUTPUT_COLUMNS:
        assert _rows(tmp_path / "gb" / name, "gb18030") == _rows(
            tmp_path / "utf8" / name, "utf-8-sig"
        ), name
    plain = runner.invoke(app, ["export", str(tmp_path / "plain"), "--encoding", "utf-8"])
    assert plain.exit_code == 0
    assert not (tmp_path / "plain" / "teams.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_bad_encoding_is_refused(engine: Engine, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--encoding", "latin-1"])
    assert result.exit_code == 2
    assert "--encoding must be one of utf-8-sig, utf-8, gb18030" in " ".join(result.stderr.split())
    assert not (tmp_path / "out").exists()


def test_xlsx_has_chinese_headers_a_frozen_row_and_text_ids(engine: Engine, tmp_path: Path) -> None:
    _seeded(engine, tmp_path)
    book = tmp_path / "export.xlsx"
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--xlsx", str(book)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "teams.csv").exists()  # the CSV files as always
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == [SHEET_TITLES[n.removesuffix(".csv")] for n in OUTPUT_COLUMNS]
    teams = wb[SHEET_TITLES["teams"]]
    assert teams.freeze_panes == "A2"
    header = [c.value for c in teams[1]]
    assert header == [label(c) for c in OUTPUT_COLUMNS["teams.csv"]]
    assert header[:3] == ["工作队编号", "村代码", "年度"]
    assert teams[1][0].font.bold
    first = {c: v.value for c, v in zip(OUTPUT_COLUMNS["teams.csv"], teams[2], strict=True)}
    assert first["team_id"] == "1" and teams["A2"].data_type == "s"  # an ID: text
    assert first["village_code"] == V1 and teams["B2"].data_type == "s"
    assert first["cycle_year"] == 2026 and teams["C2"].data_type == "n"  # a number
    assert first["term_start"].date().isoformat() == "2026-01-01"  # a date cell
    assert teams.column_dimensions["B"].width >= 10
    shortages = wb[SHEET_TITLES["shortages"]]
    assert [c.value for c in shortages[1]][-1] == "原因"
    assert shortages["D2"].value == REASON
    # as many rows as the CSV files, header included
    for name in OUTPUT_COLUMNS:
        ws = wb[SHEET_TITLES[name.removesuffix(".csv")]]
        assert ws.max_row == len(_rows(tmp_path / "out" / name, "utf-8-sig")), name


def test_xlsx_export_reimports_as_notes(engine: Engine, tmp_path: Path) -> None:
    """An export workbook dropped into an import folder is named, sheet by sheet, never
    silently read or ignored."""
    _seeded(engine, tmp_path)
    folder = valid_folder(tmp_path / "again")
    out = runner.invoke(app, ["export", str(tmp_path / "out"), "--xlsx", str(folder / "出.xlsx")])
    assert out.exit_code == 0, out.output
    result = import_folder(folder)
    assert result.ok, result.errors
    assert "出.xlsx[工作队] ignored: an output file of `zhucun export`" in result.notes
