"""`ZHUCUN_LANG` (issue 11.2): Chinese by default, English on request, for what the
operator reads; files and JSON keep their codes whatever the language."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from tests.support.registry_fixtures import valid_folder
from tests.support.review_fixtures import ReviewSeed, seed_review
from zhucun import labels
from zhucun.cli import app
from zhucun.settings import reset_settings

runner = CliRunner()


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ZHUCUN_LANG", "en")
    reset_settings()
    yield
    monkeypatch.delenv("ZHUCUN_LANG")
    reset_settings()


@pytest.fixture
def review(session: Session) -> ReviewSeed:
    s = seed_review(session, villages=2, households_per_village=4)
    session.commit()
    return s


def list_output() -> str:
    res = runner.invoke(app, ["review", "list", "--county", "130624", "--wide"])
    assert res.exit_code == 0, res.output
    return res.stdout


def test_default_is_chinese(review: ReviewSeed) -> None:
    out = list_output()
    assert "待审核" in out and "环节" in out and "工作队" in out and "一户一策" in out
    assert "stage" not in out and "strategy" not in out


def test_english_on_request(review: ReviewSeed, english: None) -> None:
    out = list_output()
    assert "Review 130624" in out and "stage" in out and "decided by" in out
    assert "环节" not in out and "一户一策" not in out


def test_json_keeps_codes_in_both_languages(review: ReviewSeed, english: None) -> None:
    res = runner.invoke(app, ["review", "list", "--county", "130624", "--json"])
    assert {r["stage"] for r in json.loads(res.stdout)} == {"team"}


def test_export_csv_headers_stay_codes(data_dir: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["import", str(valid_folder(tmp_path / "in"))]).exit_code == 0
    res = runner.invoke(app, ["export", str(tmp_path / "out")])
    assert res.exit_code == 0 and "文件" in res.stdout  # the table is Chinese…
    with open(tmp_path / "out" / "teams.csv", encoding="utf-8-sig") as f:
        assert next(csv.reader(f))[0] == "team_id"  # …the file's header is the code


def test_one_table_of_labels(english: None) -> None:
    assert labels.label("cause", "illness") == "illness"
    assert labels.label("review_stage", "committee") == "committee"
    assert labels.header("cost_yuan") == "cost yuan"


def test_labels_money_and_time(data_dir: Path) -> None:
    assert labels.label("cause", "illness") == "因病"  # models/enums.py's CAUSE_ZH
    assert labels.label("measure", "water") == "饮水安全"
    assert labels.label("cause", "water") == "缺水"  # same code, another kind
    assert labels.header("cost_yuan") == "金额（元）"  # zhucun/exchange/labels.py
    assert labels.label("review_status", "approved") == "已批准"
    assert labels.label("cause", "unheard_of") == "unheard_of"
    assert labels.yuan(110220000.0) == "¥110,220,000"
    assert labels.place("130624100201", "龙门村") == "130624100201 龙门村"
    assert labels.local_time(datetime(2026, 1, 1, 16, 30, tzinfo=UTC)) == "2026-01-02 00:30"
