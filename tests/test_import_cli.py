"""`zhucun import` and `zhucun export` as an operator and a script call them."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner
from zhucun.models import Household

from tests.support.registry_fixtures import registry_rows, valid_folder, write_folder
from zhucun.cli import app
from zhucun.db import get_engine
from zhucun.exchange.specs import OUTPUT_COLUMNS

runner = CliRunner()


def test_import_prints_a_summary(data_dir: Path, tmp_path: Path) -> None:
    folder = valid_folder(tmp_path / "in")
    result = runner.invoke(app, ["import", str(folder)])
    assert result.exit_code == 0, result.output
    assert "zhucun import" in result.stdout
    assert "household" in result.stdout
    # not a terminal: plain progress lines on stderr
    assert "checking households.csv" in result.stderr
    assert "writing households.csv: 4 rows" in result.stderr
    with get_engine().connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Household)) == 4


def test_import_json_and_reimport(data_dir: Path, tmp_path: Path) -> None:
    folder = valid_folder(tmp_path / "in")
    first = runner.invoke(app, ["import", str(folder), "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["ok"] is True
    assert {t["table"]: t["inserted"] for t in data["tables"]}["household"] == 4
    assert first.stderr == ""  # --json: no progress noise
    second = json.loads(runner.invoke(app, ["import", str(folder), "--json"]).stdout)
    assert all(t["inserted"] == 0 and t["updated"] == 0 for t in second["tables"])


def test_import_errors_exit_non_zero_and_write_nothing(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    rows["households.csv"][1]["skilled_labour"] = "3"
    result = runner.invoke(app, ["import", str(write_folder(tmp_path / "in", rows))])
    assert result.exit_code == 1
    assert "households.csv:3:skilled_labour: must be ≤ labour_count" in result.stderr
    assert "1 处错误：未导入任何数据。" in result.stderr
    assert not (data_dir / "zhucun.db").exists()


def test_import_errors_are_capped_with_a_count(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    base = rows["households.csv"][0]
    rows["households.csv"] = [{**base, "household_id": f"X{i:04d}", "size": "0"} for i in range(60)]
    rows["surveys.csv"] = []
    result = runner.invoke(app, ["import", str(write_folder(tmp_path / "in", rows))])
    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("households.csv:")]
    # 60 bad sizes and 59 duplicate head ID numbers; the first 50 printed
    assert len(lines) == 50
    assert "… 另有 69 处" in result.stderr
    assert "119 处错误：未导入任何数据。" in result.stderr


def test_import_json_errors(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    rows["villages.csv"][2]["terrain"] = "ocean"
    result = runner.invoke(app, ["import", str(write_folder(tmp_path / "in", rows)), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["error_count"] == 1
    assert data["errors"][0].startswith("villages.csv:4:terrain: must be one of plain")


def test_unknown_columns_flag(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    for r in rows["cadres.csv"]:
        r["phone"] = "13800000000"
    folder = write_folder(tmp_path / "in", rows)
    refused = runner.invoke(app, ["import", str(folder)])
    assert refused.exit_code == 1
    assert "cadres.csv:1:phone: unknown column" in refused.stderr
    accepted = runner.invoke(app, ["import", str(folder), "--ignore-unknown-columns"])
    assert accepted.exit_code == 0, accepted.output


def test_import_of_a_missing_folder(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "is not a folder" in " ".join(result.stderr.split())
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["import", str(empty)])
    assert result.exit_code == 2
    assert "holds no input file" in " ".join(result.stderr.split())


def test_export_writes_every_file(data_dir: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["import", str(valid_folder(tmp_path / "in"))]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["files"]) == set(OUTPUT_COLUMNS)
    assert data["files"]["audit.csv"] == 6
    for name, header in OUTPUT_COLUMNS.items():
        first = (out / name).read_text(encoding="utf-8-sig").splitlines()[0]
        assert first == ",".join(header)


def test_export_refuses_a_bad_county_and_a_missing_database(data_dir: Path, tmp_path: Path) -> None:
    bad = runner.invoke(app, ["export", str(tmp_path / "out"), "--county", "52"])
    assert bad.exit_code == 2
    assert "--county must be a 6-digit county code" in " ".join(bad.stderr.split())
    missing = runner.invoke(app, ["export", str(tmp_path / "out")])
    assert missing.exit_code == 2
    assert "run `zhucun import` first" in " ".join(missing.stderr.split())
    assert not (data_dir / "zhucun.db").exists()


def test_generate_import_export_round_trip(data_dir: Path, tmp_path: Path) -> None:
    """A generated county lands whole: every key of the files is in the database, the
    counts match, and the export then writes every output file."""
    import csv

    from zhucun.models import Cadre, Official, Survey, Village

    folder = tmp_path / "county"
    generated = runner.invoke(
        app, ["generate", "--county", "522626", "--out", str(folder), "--households", "300"]
    )
    assert generated.exit_code == 0, generated.output
    imported = runner.invoke(app, ["import", str(folder), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["ok"] is True

    def keys(name: str, column: str) -> set[str]:
        with open(folder / name, encoding="utf-8-sig", newline="") as fh:
            return {row[column] for row in csv.DictReader(fh)}

    with get_engine().connect() as conn:
        for name, column, model in (
            ("villages.csv", "village_code", Village),
            ("households.csv", "household_id", Household),
            ("cadres.csv", "cadre_id", Cadre),
            ("officials.csv", "person_id", Official),
        ):
            in_db = set(conn.scalars(select(getattr(model, column))))
            assert in_db == keys(name, column), name
        surveys = conn.scalar(select(func.count()).select_from(Survey))
    with open(folder / "surveys.csv", encoding="utf-8-sig") as fh:
        assert surveys == sum(1 for _ in fh) - 1
    exported = runner.invoke(app, ["export", str(tmp_path / "out"), "--json"])
    assert exported.exit_code == 0, exported.output
    assert set(json.loads(exported.stdout)["files"]) == set(OUTPUT_COLUMNS)
