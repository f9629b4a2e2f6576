"""County files as the national system and Chinese Excel write them: UTF-8, UTF-8 with BOM
and GB18030 CSV, and .xlsx (a workbook per file or one with a sheet per file) import to the
same database; every file not used is named; broken files give one line, nothing written."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import MetaData, create_engine, select
from typer.testing import CliRunner

from tests.support.registry_fixtures import Rows, registry_rows, write_folder
from zhucun.cli import app
from zhucun.exchange.importer import import_folder
from zhucun.exchange.sources import FIELD_LIMIT, SHEET_TITLES, open_table
from zhucun.exchange.xlsx_reader import number_text

runner = CliRunner()
TABLES = ("county", "township", "village", "household", "cadre", "official", "relation", "survey")
# cells a person types as numbers, dates and booleans in Excel (the rest stay text)
NUMBERS = {"population", "size", "labour_count", "students", "party_join_year"}
DECIMALS = {"collective_income_yuan", "distance_to_county_km", "land_mu", "per_capita_income_yuan"}
BOOLEANS = {"registered_poor", "electricity", "road_access", "available"}


def _typed(key: str, value: str) -> object:
    if value == "":
        return None
    if key in NUMBERS:
        return int(value)
    if key in DECIMALS:
        return float(value)
    if key in BOOLEANS and value in ("true", "false"):
        return value == "true"
    if key == "survey_date":
        return date.fromisoformat(value)
    return value


def _sheet(ws: openpyxl.worksheet.worksheet.Worksheet, records: list[dict[str, str]]) -> None:
    keys = list(records[0])
    ws.append(keys)
    for r in records:
        ws.append([_typed(k, r[k]) for k in keys])


def write_xlsx(folder: Path, rows: Rows, *, one_book: str | None = None) -> Path:
    """Each file as X.xlsx, or all as sheets (Chinese titles) of the workbook `one_book`."""
    folder.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook() if one_book else None
    if book is not None:
        book.remove(book.active)
    for name, records in rows.items():
        stem = name.removesuffix(".csv")
        if book is not None:
            _sheet(book.create_sheet(SHEET_TITLES[stem]), records)
        else:
            wb = openpyxl.Workbook()
            wb.active.title = "Sheet1"
            _sheet(wb.active, records)
            wb.save(folder / f"{stem}.xlsx")
    if book is not None:
        book.save(folder / one_book)
    return folder


def write_encoded(folder: Path, rows: Rows, encoding: str) -> Path:
    write_folder(folder, rows)
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    return folder


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine, only=TABLES)
    with engine.connect() as conn:
        out = {
            name: sorted(map(tuple, conn.execute(select(meta.tables[name])).all()), key=repr)
            for name in TABLES
        }
    engine.dispose()
    return out


def _db(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / f'{name}.db'}"


def _nothing_written(tmp_path: Path, name: str) -> bool:
    return not (tmp_path / f"{name}.db").exists()


def test_every_form_imports_to_the_same_database(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    folders = {
        "utf8": write_folder(tmp_path / "utf8", rows),
        "bom": write_folder(tmp_path / "bom", rows, bom=True),
        "gb18030": write_encoded(tmp_path / "gb", rows, "gb18030"),
        "per_file": write_xlsx(tmp_path / "xlsx", rows),
        "one_book": write_xlsx(tmp_path / "book", rows, one_book="县级台账.xlsx"),
    }
    results = {k: import_folder(f, url=_db(tmp_path, k)) for k, f in folders.items()}
    for kind, result in results.items():
        assert result.ok, (kind, result.errors)
        assert {t.table: t.inserted for t in result.tables}["household"] == 4, kind
    expected = snapshot(_db(tmp_path, "utf8"))
    assert len(expected["household"]) == 4 and len(expected["survey"]) == 2
    for kind in folders:
        assert snapshot(_db(tmp_path, kind)) == expected, kind
    assert "households.csv: read as GB18030" in results["gb18030"].notes
    assert "households.csv: read as UTF-8 with BOM" in results["bom"].notes
    assert "households.csv: read from households.xlsx[Sheet1]" in results["per_file"].notes
    assert "households.csv: read from 县级台账.xlsx[贫困户]" in results["one_book"].notes
    assert not [n for n in results["utf8"].notes if "read as" in n]


def test_a_bad_cell_in_a_sheet_names_workbook_sheet_row_and_column(
    data_dir: Path, tmp_path: Path
) -> None:
    rows = registry_rows()
    rows["households.csv"][1]["skilled_labour"] = "3"
    folder = write_xlsx(tmp_path / "in", rows, one_book="registry.xlsx")
    result = import_folder(folder, url=_db(tmp_path, "x"))
    assert result.errors == ["registry.xlsx[贫困户]:3:skilled_labour: must be ≤ labour_count"]
    assert _nothing_written(tmp_path, "x")


def test_unknown_files_and_sheets_are_named(data_dir: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    (folder / "readme.txt").write_text("说明", encoding="utf-8")
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "sub").mkdir()
    (folder / "~$registry.xlsx").write_bytes(b"lock")
    wb = openpyxl.Workbook()
    wb.active.title = "汇总"
    wb.create_sheet("工作队")
    wb.save(folder / "extra.xlsx")
    result = import_folder(folder, url=_db(tmp_path, "x"))
    assert result.ok, result.errors
    notes = "\n".join(result.notes)
    assert "readme.txt ignored: not an input file" in notes
    assert "old.xls ignored: the old Excel format is not read" in notes
    assert "sub/ ignored: a folder" in notes
    assert "~$registry.xlsx ignored: Excel's lock file" in notes
    assert "extra.xlsx[汇总] ignored: not a sheet of an input file" in notes
    assert "extra.xlsx[工作队] ignored: an output file of `zhucun export`" in notes


def test_two_sources_for_one_file_are_refused(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    folder = write_folder(tmp_path / "in", rows)
    write_xlsx(folder, {"households.csv": rows["households.csv"]})
    result = import_folder(folder, url=_db(tmp_path, "x"))
    assert result.errors == [
        "households.csv: two sources, households.csv and households.xlsx[Sheet1]: keep one"
    ]
    assert _nothing_written(tmp_path, "x")


def test_a_missing_households_file_is_one_error(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    del rows["households.csv"]
    survey = rows["surveys.csv"][0]
    rows["surveys.csv"] = [{**survey, "household_id": f"X{i:04d}"} for i in range(1000)]
    result = import_folder(write_folder(tmp_path / "in", rows), url=_db(tmp_path, "x"))
    assert result.errors == [
        "households.csv: missing: surveys.csv refers to households "
        "(add households.csv or households.xlsx)"
    ]
    assert _nothing_written(tmp_path, "x")


def test_a_field_over_the_limit_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    with open(folder / "surveys.csv", "a", encoding="utf-8") as fh:
        fh.write('H0003,"' + "x" * (FIELD_LIMIT + 10) + '"\n')
    result = import_folder(folder, url=_db(tmp_path, "x"))
    assert result.errors == [f"surveys.csv:4:*: field longer than {FIELD_LIMIT} characters"]
    assert _nothing_written(tmp_path, "x")


def test_a_bad_byte_late_in_the_file_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    path = folder / "households.csv"
    data = path.read_bytes()
    padding = b"\r\n" * 50_000  # blank lines: past the first block the encoding is sniffed on
    path.write_bytes(data + padding + data.splitlines()[1].replace(b"H0001", b"H\xff01") + b"\r\n")
    result = import_folder(folder, url=_db(tmp_path, "x"))
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.startswith("households.csv:") and ":*: " in error
    assert "save it as CSV UTF-8" in error and error.endswith(
        "not valid UTF-8 (at or after this line)"
    )
    assert int(error.split(":")[1]) > 40_000
    assert _nothing_written(tmp_path, "x")


def test_a_symlink_loop_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    (folder / "households.csv").unlink()
    os.symlink("households.csv", folder / "households.csv")
    os.symlink("loop.csv", folder / "loop.csv")
    result = import_folder(folder, url=_db(tmp_path, "x"))
    assert len(result.errors) == 1
    assert result.errors[0].startswith("households.csv: cannot be read (")
    assert any(n.startswith("loop.csv: cannot be read (") for n in result.notes)
    assert _nothing_written(tmp_path, "x")


def test_a_broken_workbook_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    (folder / "households.csv").unlink()
    (folder / "households.xlsx").write_bytes(b"not a zip")
    result = import_folder(folder, url=_db(tmp_path, "x"))
    assert len(result.errors) == 1
    assert result.errors[0].startswith("households.xlsx: cannot be read: not an Excel")


def test_the_cli_prints_the_encoding_note(data_dir: Path, tmp_path: Path) -> None:
    folder = write_encoded(tmp_path / "in", registry_rows(), "gb18030")
    result = runner.invoke(app, ["import", str(folder)])
    assert result.exit_code == 0, result.output
    assert "提示：villages.csv: read as GB18030" in result.stderr


def test_xlsx_cells_read_as_typed(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "t"
    ws.append(["id", "phone", "float_id", "when", "ok", "empty", "money", "name"])
    ws.append([123456789012345, 13800138000, 5.2262619900101e17, date(2025, 6, 30), True])
    ws["G2"] = 0.1 + 0.2
    ws["H2"] = "王明"
    ws.append([])  # an empty row: skipped, the next keeps its sheet row number
    ws["A4"] = "x"
    wb.save(tmp_path / "t.xlsx")
    with open_table(tmp_path / "t.xlsx") as f:
        assert f.label == "t.xlsx[t]"
        assert f.read_header() == [
            "id",
            "phone",
            "float_id",
            "when",
            "ok",
            "empty",
            "money",
            "name",
        ]
        rows = list(f.rows())
    assert rows[0] == (
        2,
        [
            "123456789012345",
            "13800138000",
            "522626199001010000",
            "2025-06-30",
            "true",
            "",
            "0.3",
            "王明",
        ],
    )
    assert rows[1] == (4, ["x", "", "", "", "", "", "", ""])


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("1200", "1200"),
        ("30000.5", "30000.5"),
        ("5.2262619900101E+17", "522626199001010000"),
        ("1.0", "1"),
        ("-3", "-3"),
        ("1E-3", "0.001"),
        ("#N/A", "#N/A"),
    ],
)
def test_number_text(raw: str, shown: str) -> None:
    assert number_text(raw) == shown


def test_review_decisions_in_gb18030_and_broken(tmp_path: Path) -> None:
    from zhucun.tasks.review import FILE_COLUMNS, read_decisions_file

    head = ",".join(FILE_COLUMNS)
    row = "team,strategy,H0001,C001,reject,资料不全,2026-03-02"
    path = tmp_path / "decisions.csv"
    path.write_bytes(f"{head}\r\n{row}\r\n".encode("gb18030"))
    requests, lines, errors = read_decisions_file(path)
    assert errors == [] and lines == [2]
    assert requests[0].reason == "资料不全"
    path.write_bytes(f"{head}\r\n{row}\r\n".encode() + "资料".encode("gbk") + b"\r\n")
    _, _, errors = read_decisions_file(path)
    assert len(errors) == 1 and errors[0].startswith("decisions.csv:3:*: ")
    _, _, errors = read_decisions_file(tmp_path / "absent.csv")
    assert errors == ["absent.csv:1:*: cannot be read (No such file or directory)"]


def test_review_import_of_a_mis_encoded_file_is_one_line(engine: object, tmp_path: Path) -> None:
    from zhucun.tasks.review import FILE_COLUMNS

    path = tmp_path / "decisions.csv"
    head = ",".join(FILE_COLUMNS).encode()
    path.write_bytes(head + b"\r\n" + "团队,资料".encode() + b"\r\n" + "资料".encode("gbk"))
    result = runner.invoke(app, ["review", "import", str(path), "--year", "2026", "--json"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert '"decisions.csv:3:*: not valid UTF-8 (at or after this line)"' in result.stdout
