"""The user's documentation is the contract the code enforces, and stands alone."""

from __future__ import annotations

from pathlib import Path

from zhucun.exchange.contract_doc import update

ROOT = Path(__file__).resolve().parents[1]


def test_the_column_tables_of_the_data_format_page_are_current() -> None:
    text = (ROOT / "docs" / "data-format.md").read_text("utf-8")
    assert update(text) == text, "run: python -m zhucun.exchange.contract_doc"


def test_nothing_for_users_points_outside_the_repository() -> None:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    paths += sorted((ROOT / "zhucun").rglob("*.py"))
    for path in paths:
        assert "../shared" not in path.read_text("utf-8"), path
