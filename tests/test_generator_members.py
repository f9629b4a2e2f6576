"""The generator's members and card fields, and the same county in every form a county
office may hand it in: zhucun's layout as UTF-8 CSV, GB18030 CSV and xlsx, and the national
person-level export as UTF-8 CSV, GB18030 CSV and xlsx. Each imports to the same
households and members (for the national export: in every column it carries)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from zhucun.exchange.importer import import_folder
from zhucun.exchange.national import import_national
from zhucun.exchange.specs import THIS_YEAR
from zhucun.generator import generate
from zhucun.generator.writers import NATIONAL_FILE, NATIONAL_HEADERS
from zhucun.idnumber import id_number_problem, is_male
from zhucun.rules.members import COMPULSORY_AGES, IN_SCHOOL, LABOUR_SKILLS

COUNTY, HOUSEHOLDS, SEED = "433124", 60, 5
# Columns the national export does not carry, or carries differently, so the national
# import takes defaults or derives them otherwise (national_layout.toml [defaults]):
# attribute (no 贫困户属性 among the 32 headers: all general), housing_grade (only 危房户:
# C or B), food/land/spending/disaster/road/credit/motivation (defaults), the income
# breakdown and the rest of the card (identification_standard, house area, water
# difficulty, road type, toilet, fuel, cooperative, bank), disabled_members and the
# members' disability grade and certificate (no 残疾等级/残疾证号 column: only 健康状况 =
# 残疾 counts), pension_insurance (no column).
NATIONAL_LACKS_HOUSEHOLD = {
    "attribute",
    "housing_grade",
    "food_clothing_secure",
    "medical_spending_yuan",
    "education_spending_yuan",
    "land_mu",
    "disaster_loss_yuan",
    "road_access",
    "has_credit_access",
    "low_motivation",
    "identification_standard",
    "planned_exit_year",
    "exit_year",
    "wage_income_yuan",
    "business_income_yuan",
    "property_income_yuan",
    "transfer_income_yuan",
    "dibao_income_yuan",
    "tekun_income_yuan",
    "pension_income_yuan",
    "eco_compensation_yuan",
    "production_cost_yuan",
    "house_area_m2",
    "drinking_water_difficulty",
    "road_type",
    "sanitary_toilet",
    "fuel",
    "cooperative_member",
    "bank_name",
    "bank_account",
    "disabled_members",
}
NATIONAL_LACKS_MEMBER = {"disability_grade", "disability_cert", "pension_insurance"}
FORMS = {
    "zhucun-utf8": {},
    "zhucun-gb18030": {"encoding": "gb18030"},
    "zhucun-xlsx": {"xlsx": True},
    "national-utf8": {"layout": "national"},
    "national-gb18030": {"layout": "national", "encoding": "gb18030"},
    "national-xlsx": {"layout": "national", "xlsx": True},
}


def _tables(db: Path) -> dict[str, list[dict[str, Any]]]:
    """Every household and member row, all columns, sorted by key."""
    eng = create_engine(f"sqlite:///{db}")
    out = {}
    with eng.connect() as conn:
        for table, key in (("household", "household_id"), ("member", "member_id")):
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}")).mappings()
            out[table] = [dict(r) for r in rows]
    eng.dispose()
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The county generated and imported in each form (one database each)."""
    out: dict[str, Any] = {}
    for form, options in FORMS.items():
        base = tmp_path_factory.mktemp(form)
        folder, db = base / "registry", base / "zhucun.db"
        generate(COUNTY, folder, seed=SEED, households=HOUSEHOLDS, **options)
        importer = import_national if options.get("layout") == "national" else import_folder
        result = importer(folder, url=f"sqlite:///{db}")
        assert result.ok, (form, result.errors[:5])
        out[form] = {"folder": folder, "result": result, "tables": _tables(db)}
    return out


def _read(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def test_files_of_each_form(imported: dict[str, Any]) -> None:
    names = {form: sorted(p.name for p in v["folder"].iterdir()) for form, v in imported.items()}
    zh = ["cadres", "households", "members", "monitoring_clues", "officials", "relations",
          "surveys", "villages"]  # fmt: skip
    nat = sorted(["cadres", NATIONAL_FILE, "monitoring_clues", "officials", "relations",
                  "surveys", "villages"])  # fmt: skip
    assert names["zhucun-utf8"] == [f"{n}.csv" for n in zh]
    assert names["zhucun-xlsx"] == [f"{n}.xlsx" for n in zh]
    assert names["national-xlsx"] == [f"{n}.xlsx" for n in nat]
    raw = (imported["national-gb18030"]["folder"] / f"{NATIONAL_FILE}.csv").read_bytes()
    assert raw.decode("gb18030").splitlines()[0].split(",") == NATIONAL_HEADERS_LIST
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


NATIONAL_HEADERS_LIST = list(NATIONAL_HEADERS)


def test_national_headers_are_the_real_export() -> None:
    from tests.support.member_fixtures import NATIONAL_HEADERS as REAL

    assert NATIONAL_HEADERS_LIST == REAL


def test_xlsx_keeps_ids_as_text(imported: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    book = load_workbook(imported["zhucun-xlsx"]["folder"] / "members.xlsx", read_only=True)
    assert book.sheetnames == ["members"]
    rows = book["members"].iter_rows(min_row=1, max_row=3, values_only=True)
    header, first, _ = list(rows)
    row = dict(zip(header, first, strict=False))  # read_only drops trailing empty cells
    assert isinstance(row["id_number"], str) and isinstance(row["member_id"], str)
    assert isinstance(row["migrant_months"], int)
    book.close()


def test_zhucun_layout_imports_identically_in_every_encoding(imported: dict[str, Any]) -> None:
    reference = imported["zhucun-utf8"]["tables"]
    assert reference["member"] and reference["household"]
    for form in ("zhucun-gb18030", "zhucun-xlsx"):
        assert imported[form]["tables"] == reference, form


def test_national_layout_imports_identically_in_every_encoding(imported: dict[str, Any]) -> None:
    reference = imported["national-utf8"]["tables"]
    for form in ("national-gb18030", "national-xlsx"):
        assert imported[form]["tables"] == reference, form


def test_national_and_zhucun_layouts_agree_on_what_both_carry(imported: dict[str, Any]) -> None:
    zh, nat = imported["zhucun-utf8"]["tables"], imported["national-utf8"]["tables"]
    for table, lacks in (
        ("household", NATIONAL_LACKS_HOUSEHOLD),
        ("member", NATIONAL_LACKS_MEMBER),
    ):
        assert len(zh[table]) == len(nat[table])
        for a, b in zip(zh[table], nat[table], strict=True):
            shared = {k: v for k, v in a.items() if k not in lacks}
            assert shared == {k: b[k] for k in shared}, (table, a, b)
    # what differs, differs for the reasons above: some households are dibao/tekun, some
    # have a disabled member whom the national export shows only by 健康状况
    assert {h["attribute"] for h in nat["household"]} == {"general"}
    assert {h["attribute"] for h in zh["household"]} > {"general"}


def test_no_mismatch_between_households_and_members(imported: dict[str, Any]) -> None:
    result = imported["zhucun-utf8"]["result"]
    assert not [w for w in result.warnings if "members taken" in w]
    assert not [w for w in result.warnings if "members.csv" in w]
    folder = imported["zhucun-utf8"]["folder"]
    households = {h["household_id"]: h for h in _read(folder / "households.csv")}
    db = {h["household_id"]: h for h in imported["zhucun-utf8"]["tables"]["household"]}
    for hid, h in households.items():
        assert db[hid]["compulsory_education_ok"] == (h["compulsory_education_ok"] == "true")
        assert db[hid]["basic_medical_ok"] == (h["basic_medical_ok"] == "true")
        assert db[hid]["counts_source"] == "members"


def test_members_are_realistic(imported: dict[str, Any]) -> None:
    folder = imported["zhucun-utf8"]["folder"]
    households = {h["household_id"]: h for h in _read(folder / "households.csv")}
    by_household: dict[str, list[dict[str, str]]] = {}
    for m in _read(folder / "members.csv"):
        by_household.setdefault(m["household_id"], []).append(m)
        assert m["member_id"][:-2] == m["household_id"] and m["member_id"][-2:].isdigit()
        assert id_number_problem(m["id_number"]) is None
        assert m["id_number"][:6] == COUNTY
        assert is_male(m["id_number"]) == (m["gender"] == "M")
        age = THIS_YEAR - int(m["id_number"][6:10])
        if m["labour_skill"] in LABOUR_SKILLS:
            assert 16 <= age <= 64, m
        if age < 16 or age >= 75:
            assert m["labour_skill"] not in LABOUR_SKILLS, m
        if m["disability_grade"]:
            assert m["health"] == "disabled"
            assert m["disability_cert"][:18] == m["id_number"] and len(m["disability_cert"]) == 20
        if m["phone"]:
            assert len(m["phone"]) == 11 and m["phone"][0] == "1"
        if age < 6:
            assert m["education"] == "preschool"
    assert set(by_household) == set(households)
    relations: Counter[str] = Counter()
    broken_med = 0
    for hid, people in by_household.items():
        h = households[hid]
        assert [p["relation"] for p in people].count("head") == 1
        assert people[0]["relation"] == "head" and people[0]["id_number"] == h["head_id_number"]
        relations.update(p["relation"] for p in people)
        low, high = COMPULSORY_AGES
        out = [
            p
            for p in people
            if low <= THIS_YEAR - int(p["id_number"][6:10]) <= high
            and p["school_status"] not in IN_SCHOOL
        ]
        if h["compulsory_education_ok"] == "false":
            assert out
        else:
            assert not out
        uninsured = [p for p in people if p["medical_insurance"] == "false"]
        assert bool(uninsured) == (h["basic_medical_ok"] == "false")
        broken_med += bool(uninsured)
    assert {"spouse", "son", "daughter"} <= set(relations)
    assert broken_med > 0


def test_card_fields_follow_the_household(imported: dict[str, Any]) -> None:
    folder = imported["zhucun-utf8"]["folder"]
    for h in _read(folder / "households.csv"):
        parts = [int(h[c]) for c in ("wage_income_yuan", "business_income_yuan",
                                     "property_income_yuan", "transfer_income_yuan")]  # fmt: skip
        net = sum(parts) - int(h["production_cost_yuan"])
        assert net == int(h["per_capita_income_yuan"]) * int(h["size"]), h["household_id"]
        assert int(h["dibao_income_yuan"]) + int(h["tekun_income_yuan"]) + int(
            h["pension_income_yuan"]
        ) + int(h["eco_compensation_yuan"]) <= int(h["transfer_income_yuan"])
        if h["attribute"] == "dibao":
            assert int(h["dibao_income_yuan"]) > 0
        if h["attribute"] == "tekun":
            assert int(h["tekun_income_yuan"]) > 0
        assert (h["dangerous_house"] == "true") == (h["housing_grade"] in ("C", "D"))
        assert (h["drinking_water_difficulty"] == "true") == (h["safe_water_ok"] == "false")
        if h["registered_poor"] == "true":
            assert 2014 <= int(h["identification_year"]) <= 2016
            assert h["registered_main_cause"] and h["identification_standard"]
        else:
            assert h["identification_year"] == "" and h["registered_main_cause"] == ""


def test_main_cause_registered_is_the_one_the_rules_give(imported: dict[str, Any]) -> None:
    folder = imported["zhucun-utf8"]["folder"]
    causes = [h["registered_main_cause"] for h in _read(folder / "households.csv")]
    assert Counter(c for c in causes if c).most_common(1)[0][0] == "illness"


def test_cli_writes_the_national_layout_as_xlsx(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from zhucun.cli import app

    out = tmp_path / "n"
    result = CliRunner().invoke(
        app,
        ["generate", "--county", COUNTY, "--out", str(out), "--households", "20",
         "--layout", "national", "--xlsx", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / f"{NATIONAL_FILE}.xlsx").exists() and not (out / "households.csv").exists()
    bad = CliRunner().invoke(
        app, ["generate", "--county", COUNTY, "--out", str(out), "--encoding", "latin-1"]
    )
    assert bad.exit_code == 2


def test_a_generated_county_is_clean_for_the_data_quality_checks(
    imported: dict[str, Any],
) -> None:
    """`zhucun check` finds each planted inconsistency (tests/test_quality.py) and nothing on
    a clean registry: the generator's counties are clean in both layouts."""
    from sqlalchemy.orm import Session
    from zhucun.tasks.quality import check_quality

    for form in ("zhucun-utf8", "national-utf8"):
        db = imported[form]["folder"].parent / "zhucun.db"
        eng = create_engine(f"sqlite:///{db}")
        with Session(eng) as session:
            report = check_quality(session, COUNTY)
        eng.dispose()
        found = {r["code"]: r["count"] for r in report["rules"] if r["count"]}
        assert found == {}, (form, found)
