"""`zhucun policy show` in the operator's language (issue 11.2): every key by its label with
its code beside it, the codes inside values labelled too, money as ¥; English on request;
`--json` keeps the codes alone whatever the language."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhucun.cli import app
from zhucun.settings import reset_settings

runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # one line per value part: the asserts read whole phrases


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's console may have been sized by an earlier test in this worker process:
    fix its width here, as COLUMNS=200 says."""
    from zhucun.cli import output

    monkeypatch.setattr(output.console, "width", 200)


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ZHUCUN_LANG", "en")
    reset_settings()
    yield
    monkeypatch.delenv("ZHUCUN_LANG")
    reset_settings()


def show(*args: str) -> str:
    res = runner.invoke(app, ["policy", "show", "--year", "2026", *args], env=WIDE)
    assert res.exit_code == 0, res.output
    return res.stdout


def test_chinese_labels_with_their_codes(data_dir: Path) -> None:
    out = show()
    assert "2026 年度政策（中部 central" in out and "政策项目" in out
    for zh, code in (
        ("贫困线（元/人·年）", "poverty_line_yuan"),
        ("公示天数", "publicity_days"),
        ("近亲属关系（回避）", "near_relations"),
        ("一户一策审核环节", "review_stages_strategy"),
    ):
        assert zh in out and code in out, (zh, code)
    assert "¥4,000" in out  # money as a county office writes it
    assert "配偶 spouse" in out and "因病 illness：健康扶贫 health" in out
    assert "工作队 team：第一书记、队员、帮扶责任人" in out  # who signs, in words
    assert "产业扶贫 industry：county agriculture bureau" not in out  # providers in Chinese
    assert "产业扶贫 industry：县农业农村局" in out
    assert "poverty_line_yuan:" not in out  # no longer the raw key: value dump
    assert not data_dir.exists(), "showing the defaults creates no database"


def test_english_on_request(data_dir: Path, english: None) -> None:
    out = show("--region", "west")
    assert "Policy 2026 (west" in out and "poverty line (yuan per person and year)" in out
    assert "poverty_line_yuan" in out and "¥4,000" in out
    assert "spouse, parent" in out and "team: first secretary, member, helper" in out
    assert "贫困线" not in out and "配偶" not in out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_json_keeps_the_codes(data_dir: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    monkeypatch.setenv("ZHUCUN_LANG", lang)
    reset_settings()
    data = json.loads(show("--json"))
    assert data["poverty_line_yuan"] == 4000 and data["near_relations"][0] == "spouse"
    assert "贫困线" not in json.dumps(data, ensure_ascii=False)
    reset_settings()


def test_a_key_without_a_label_is_shown_by_its_code() -> None:
    from zhucun.cli.policy_text import policy_rows

    rows = policy_rows({"some_new_key_yuan": 1200.0, "publicity_days": 7})
    assert [r[0].plain for r in rows] == ["some_new_key_yuan", "公示天数\npublicity_days"]
    assert rows[0][1].plain == "¥1,200"
