"""Family members (家庭成员): the household's counts come from its people, ID numbers are
one key per person however they were typed, and the national person-level export imports
with its own headers and spellings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from zhucun.models import Household, Member

from tests.support.member_fixtures import NATIONAL_HEADERS, member_rows, national_rows
from tests.support.registry_fixtures import registry_rows, write_folder
from zhucun.exchange.importer import import_folder
from zhucun.exchange.national import import_national
from zhucun.exchange.parsers import CellError, parse_id_number
from zhucun.idnumber import check_character
from zhucun.rules.members import out_of_school, tally


def _folder(tmp_path: Path, members: list[dict[str, str]] | None = None, **changes: dict) -> Path:
    rows = registry_rows()
    rows["members.csv"] = member_rows() if members is None else members
    for hid, cells in changes.items():
        for h in rows["households.csv"]:
            for key in cells:
                h.setdefault(key, "")
            if h["household_id"] == hid:
                h.update(cells)
    return write_folder(tmp_path / "in", rows)


def _household(engine: Engine, hid: str) -> Household:
    with engine.connect() as conn:
        return conn.execute(select(Household).where(Household.household_id == hid)).one()


# -- the reference rules --------------------------------------------------------------------


def test_a_child_of_ten_not_at_school_breaks_compulsory_education() -> None:
    # 控辍保学: a 10-year-old at home is the case a county is examined on
    assert out_of_school(2016, "none", 2026)
    assert not out_of_school(2016, "primary", 2026)
    assert not out_of_school(2008, "none", 2026)  # 18: past compulsory age
    assert not out_of_school(2021, "none", 2026)  # 5: not yet


def test_tally_counts_labour_illness_students_from_people() -> None:
    t = tally(
        [
            {"relation": "head", "labour_skill": "skilled", "health": "healthy"},
            {"relation": "spouse", "labour_skill": "ordinary", "health": "chronic"},
            {
                "relation": "son",
                "labour_skill": "none",
                "health": "disabled",
                "school_status": "junior",
            },
            {"relation": "mother", "labour_skill": "lost", "health": "serious"},
        ],  # fmt: skip
        2026,
    )
    assert t.counts() == (4, 2, 1, 1, 1, 1, 1)
    assert t.heads == 1


# -- ID numbers -----------------------------------------------------------------------------


def test_id_numbers_typed_full_width_or_15_digit_are_the_same_person() -> None:
    body = "52262619700301011"
    full = body + check_character(body)
    wide = full.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_id_number(wide) == full
    legacy = "522626700301011"  # before 1999: no century, no check character
    upgraded = parse_id_number(legacy)
    assert upgraded == "522626" + "19" + "700301011" + check_character("52262619700301011")
    assert upgraded.note  # reported as a warning on its row


@pytest.mark.parametrize("digits", ["٠١٢٣٤٥٦٧٨٩", "⁰¹²³⁴⁵⁶⁷⁸⁹"])
def test_other_digit_forms_are_refused(digits: str) -> None:
    body = "52262619700301011"
    typed = (body + check_character(body)).translate(str.maketrans("0123456789", digits))
    with pytest.raises(CellError, match="ASCII"):
        parse_id_number(typed)


def test_a_number_beyond_what_the_databases_hold_is_refused(engine: Engine, tmp_path: Path):
    rows = registry_rows()
    rows["villages.csv"][0]["population"] = "9" * 30
    result = import_folder(write_folder(tmp_path / "in", rows))
    assert result.errors == [
        "villages.csv:2:population: must be an integer (ASCII digits, within ±9.2e18)"
    ]


# -- members.csv ----------------------------------------------------------------------------


def test_counts_are_derived_from_members_and_checked(engine: Engine, tmp_path: Path) -> None:
    result = import_folder(_folder(tmp_path))
    assert result.ok, result.errors
    h1 = _household(engine, "H0001")
    # 4 people: head skilled, wife chronic, son at primary school, daughter at 中职
    assert (h1.size, h1.labour_count, h1.skilled_labour) == (4, 3, 1)
    assert (h1.chronic_illness_members, h1.students, h1.counts_source) == (1, 2, "members")
    assert h1.compulsory_education_ok
    h2 = _household(engine, "H0002")
    # the grandson of 12 is out of school: compulsory education is not assured
    assert (h2.size, h2.serious_illness_members, h2.students) == (2, 1, 0)
    assert not h2.compulsory_education_ok
    assert _household(engine, "H0003").counts_source == "household"
    # households.csv said 4 people for H0002: the members' 2 are taken, with a warning
    assert "households.csv:3:size: 4 but its members in members.csv give 2: members taken" in (
        result.warnings
    )
    with engine.connect() as conn:
        assert conn.scalar(select(Member.health).where(Member.member_id == "M000201")) == (
            "serious"
        )
    again = import_folder(_folder(tmp_path))
    assert again.ok
    assert all(t.inserted == 0 and t.updated == 0 for t in again.tables), again.tables


def test_counts_may_be_left_out_when_members_give_them(engine: Engine, tmp_path: Path) -> None:
    blank = dict.fromkeys(
        ("size", "labour_count", "skilled_labour", "chronic_illness_members",
         "serious_illness_members", "disabled_members", "students"), ""
    )  # fmt: skip
    ok = import_folder(_folder(tmp_path, H0001=blank))
    assert ok.ok, ok.errors
    assert _household(engine, "H0001").size == 4
    refused = import_folder(_folder(tmp_path / "b", H0003=blank))
    assert refused.errors == [
        "households.csv:4:size: must not be empty (or list the household's members in members.csv)"
    ]


def test_member_rules(engine: Engine, tmp_path: Path) -> None:
    members = member_rows()
    members[1]["relation"] = "户主"  # two heads in H0001
    members[4]["household_id"] = "H9999"  # a household nobody registered
    members[5]["disability_cert"] = members[5]["id_number"]  # an ID number is not a 残疾证号
    members[5]["phone"] = "12345"
    result = import_folder(_folder(tmp_path, members))
    assert result.errors == [
        "members.csv:3:relation: a household has one head (户主)",
        "members.csv:7:disability_cert: must be a disability certificate number of 20 or 22 "
        "characters",
        "members.csv:7:phone: must be an 11-digit mobile number or a landline with its area code",
        "members.csv:6:household_id: unknown household (not in households.csv nor in the database)",
        "members.csv:7:relation: the household has no head (与户主关系 = 户主)",
    ]


def test_members_of_households_already_in_the_database(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(write_folder(tmp_path / "first", registry_rows())).ok
    folder = tmp_path / "members"
    write_folder(folder, {"members.csv": member_rows()})
    result = import_folder(folder)
    assert result.ok, result.errors
    assert _household(engine, "H0002").size == 2
    assert not _household(engine, "H0002").compulsory_education_ok


def test_a_post_exit_attribute_keeps_its_kind_and_marks_the_exit(engine, tmp_path) -> None:
    result = import_folder(
        _folder(tmp_path, H0001={"attribute": "低保脱贫户", "exit_year": "2019"})
    )
    assert result.ok, result.errors
    h1 = _household(engine, "H0001")
    assert (h1.attribute, h1.status, h1.exited_period, h1.exit_year) == (
        "dibao",
        "exited",
        "2019-12",
        2019,
    )


# -- the national layout --------------------------------------------------------------------


def _national(tmp_path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    folder = tmp_path / "national"
    registry = registry_rows()
    write_folder(folder, {"villages.csv": registry["villages.csv"]})
    with open(folder / "家庭成员.csv", "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(NATIONAL_HEADERS)
        writer.writerows(rows)
    return folder


def test_the_national_export_imports_with_its_headers(engine: Engine, tmp_path: Path) -> None:
    result = import_national(_national(tmp_path, national_rows()))
    assert result.ok, result.errors
    h1, h2 = _household(engine, "H0001"), _household(engine, "H0002")
    assert (h1.village_code, h1.head_name, h1.size, h1.counts_source) == (
        "522626100001",
        "王明",
        4,
        "members",
    )
    assert (h1.status, h1.registered_main_cause, h1.identification_year) == (
        "exited",
        "illness",
        2014,
    )
    assert (h2.housing_grade, h2.dangerous_house, h2.status) == ("C", True, "poor")
    with engine.connect() as conn:
        assert conn.scalar(select(Member.phone).where(Member.member_id == "M000202")) == (
            "13800138000"
        )
    notes = " ".join(result.notes)
    assert "read as the national layout: 6 persons, 2 households" in notes
    assert "序号 is not used" in notes


def test_a_bad_national_cell_names_the_national_file_row_and_header(engine, tmp_path) -> None:
    rows = national_rows()
    rows[2][NATIONAL_HEADERS.index("健康状况")] = "很好"
    rows[4][NATIONAL_HEADERS.index("行政村")] = "不存在村"
    result = import_national(_national(tmp_path, rows))
    assert not result.ok
    assert result.errors == [
        "家庭成员.csv:6:行政村: unknown village 不存在村 of 南寨镇, 锦屏县 (not in villages.csv "
        "nor in the database)"
    ]
    rows = national_rows()
    rows[2][NATIONAL_HEADERS.index("健康状况")] = "很好"
    result = import_national(_national(tmp_path / "b", rows))
    assert len(result.errors) == 1
    assert result.errors[0].startswith("家庭成员.csv:4:健康状况: must be one of 健康、长期慢性病")
    with engine.connect() as conn:
        assert conn.scalar(select(Household.household_id)) is None
