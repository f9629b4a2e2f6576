"""Every validation rule of the import, each with one failing example: one bad cell (or one
change of a file) → the exact `file:row:column: rule` message, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from zhucun.models import Household

from tests.support.registry_fixtures import (
    COUNTY,
    TOWNSHIP,
    V1,
    V2,
    Rows,
    ids,
    registry_rows,
    write_folder,
)
from zhucun.exchange.importer import ImportResult, import_folder
from zhucun.exchange.parsers import BOOL_RULE
from zhucun.idnumber import check_character, make_id_number

N = ids()


def _bad_check(idn: str) -> str:
    """Same ID number with a wrong check character."""
    good = idn[-1]
    return idn[:-1] + ("0" if good != "0" else "1")


def _bad_date(prefix: str = COUNTY) -> str:
    body = f"{prefix}19801315031"
    return body + check_character(body)


SKILLS = (
    "must be a ;-separated list of agriculture, health, education, finance, infrastructure, "
    "ecommerce, tourism, governance, social_work"
)

# (file, row index, {column: new value}, expected message). Row i is on line i + 2.
CELL_CASES: list[tuple[str, int, dict[str, str], str]] = [
    # villages.csv
    ("villages.csv", 2, {"village_code": "52262610000"}, "4:village_code: must be 12 digits"),
    (
        "villages.csv",
        2,
        {"village_code": "522626101003"},
        "4:village_code: first 9 digits must equal township_code",
    ),
    (
        "villages.csv",
        2,
        {"village_code": "522627100003", "township_code": "522627100"},
        "4:township_code: first 6 digits must equal county_code",
    ),
    ("villages.csv", 2, {"county_code": "52262"}, "4:county_code: must be 6 digits"),
    ("villages.csv", 2, {"township_code": "52262610"}, "4:township_code: must be 9 digits"),
    ("villages.csv", 2, {"name": ""}, "4:name: must not be empty"),
    (
        "villages.csv",
        2,
        {"region": "north"},
        "4:region: must be one of east, central, west (or 东部/中部/西部)",
    ),
    (
        "villages.csv",
        2,
        {"region": "east"},
        f"4:region: county {COUNTY} already has region west (line 2)",
    ),
    (
        "villages.csv",
        2,
        {"region": "西部", "county_name": "黎平县"},
        f"4:county_name: county {COUNTY} already has name 锦屏县 (line 2)",
    ),
    (
        "villages.csv",
        2,
        {"province": "湖南省"},
        f"4:province: county {COUNTY} already has province 贵州省 (line 2)",
    ),
    (
        "villages.csv",
        2,
        {"township_name": "敦寨镇"},
        f"4:township_name: township {TOWNSHIP} already has name 南寨镇 (line 2)",
    ),
    ("villages.csv", 2, {"registered_poor": "maybe"}, f"4:registered_poor: {BOOL_RULE}"),
    ("villages.csv", 2, {"population": "-1"}, "4:population: must be ≥ 0"),
    ("villages.csv", 2, {"population": "1.5"}, "4:population: must be an integer"),
    (
        "villages.csv",
        2,
        {"collective_income_yuan": "abc"},
        "4:collective_income_yuan: must be a number",
    ),
    (
        "villages.csv",
        2,
        {"collective_income_yuan": "nan"},
        "4:collective_income_yuan: must be a number",
    ),
    ("villages.csv", 2, {"road_paved": ""}, "4:road_paved: must not be empty"),
    (
        "villages.csv",
        2,
        {"terrain": "swamp"},
        "4:terrain: must be one of plain, hill, mountain, plateau (or 平原/丘陵/山区/高原)",
    ),
    ("villages.csv", 2, {"distance_to_county_km": "-3"}, "4:distance_to_county_km: must be ≥ 0"),
    (
        "villages.csv",
        2,
        {"village_code": V2},
        "4:village_code: duplicate: already on line 3",
    ),
    # households.csv
    ("households.csv", 2, {"household_id": ""}, "4:household_id: must not be empty"),
    (
        "households.csv",
        3,
        {"household_id": "H0003"},
        "5:household_id: duplicate: already on line 4",
    ),
    (
        "households.csv",
        3,
        {"head_id_number": N["h3"]},
        "5:head_id_number: duplicate: already on line 4",
    ),
    (
        "households.csv",
        2,
        {"head_id_number": _bad_check(N["h3"])},
        "4:head_id_number: invalid ID number: check character does not match (ISO 7064 MOD 11-2)",
    ),
    (
        "households.csv",
        2,
        {"head_id_number": _bad_date()},
        "4:head_id_number: invalid ID number: birth date is not a date",
    ),
    (
        "households.csv",
        2,
        {"head_id_number": N["h3"][:17]},
        "4:head_id_number: invalid ID number: must be 18 characters, got 17",
    ),
    (
        "households.csv",
        2,
        {"head_id_number": make_id_number(COUNTY, date(1890, 1, 1), 31)},
        "4:head_id_number: invalid ID number: birth date is out of range",
    ),
    (
        "households.csv",
        2,
        {"village_code": "522626100009"},
        "4:village_code: unknown village (not in villages.csv nor in the database)",
    ),
    ("households.csv", 2, {"village_code": "abc"}, "4:village_code: must be 12 digits"),
    ("households.csv", 2, {"head_name": " "}, "4:head_name: must not be empty"),
    ("households.csv", 2, {"size": "0"}, "4:size: must be ≥ 1"),
    ("households.csv", 2, {"size": "four"}, "4:size: must be an integer"),
    ("households.csv", 2, {"labour_count": "5"}, "4:labour_count: must be ≤ size"),
    ("households.csv", 2, {"labour_count": "-1"}, "4:labour_count: must be ≥ 0"),
    ("households.csv", 2, {"skilled_labour": "3"}, "4:skilled_labour: must be ≤ labour_count"),
    (
        "households.csv",
        2,
        {"chronic_illness_members": "5"},
        "4:chronic_illness_members: must be ≤ size",
    ),
    (
        "households.csv",
        2,
        {"serious_illness_members": "5"},
        "4:serious_illness_members: must be ≤ size",
    ),
    ("households.csv", 2, {"disabled_members": "5"}, "4:disabled_members: must be ≤ size"),
    ("households.csv", 2, {"students": "5"}, "4:students: must be ≤ size"),
    ("households.csv", 2, {"students": "-2"}, "4:students: must be ≥ 0"),
    (
        "households.csv",
        2,
        {"per_capita_income_yuan": "-1"},
        "4:per_capita_income_yuan: must be ≥ 0",
    ),
    ("households.csv", 2, {"registered_poor": "poor"}, f"4:registered_poor: {BOOL_RULE}"),
    (
        "households.csv",
        2,
        {"attribute": "rich"},
        "4:attribute: must be one of 一般贫困户、低保贫困户、特困供养贫困户、"
        "一般脱贫户、低保脱贫户、特困脱贫户 (or its code)",
    ),
    ("households.csv", 2, {"housing_grade": "E"}, "4:housing_grade: must be one of A, B, C, D"),
    (
        "households.csv",
        2,
        {"food_clothing_secure": "maybe"},
        f"4:food_clothing_secure: {BOOL_RULE}",
    ),
    (
        "households.csv",
        2,
        {"compulsory_education_ok": ""},
        "4:compulsory_education_ok: must not be empty",
    ),
    ("households.csv", 2, {"basic_medical_ok": "2"}, f"4:basic_medical_ok: {BOOL_RULE}"),
    ("households.csv", 2, {"safe_water_ok": "ok"}, f"4:safe_water_ok: {BOOL_RULE}"),
    ("households.csv", 2, {"medical_spending_yuan": "-5"}, "4:medical_spending_yuan: must be ≥ 0"),
    (
        "households.csv",
        2,
        {"education_spending_yuan": "x"},
        "4:education_spending_yuan: must be a number",
    ),
    ("households.csv", 2, {"land_mu": "-0.5"}, "4:land_mu: must be ≥ 0"),
    ("households.csv", 2, {"disaster_loss_yuan": "inf"}, "4:disaster_loss_yuan: must be a number"),
    ("households.csv", 2, {"road_access": "n/a"}, f"4:road_access: {BOOL_RULE}"),
    ("households.csv", 2, {"has_credit_access": "-"}, f"4:has_credit_access: {BOOL_RULE}"),
    ("households.csv", 2, {"low_motivation": "?"}, f"4:low_motivation: {BOOL_RULE}"),
    (
        "households.csv",
        2,
        {"head_birth_year": "1800"},
        f"4:head_birth_year: must be between 1900 and {date.today().year}",
    ),
    # cadres.csv
    ("cadres.csv", 2, {"cadre_id": "C002"}, "4:cadre_id: duplicate: already on line 3"),
    ("cadres.csv", 2, {"id_number": N["c1"]}, "4:id_number: duplicate: already on line 2"),
    (
        "cadres.csv",
        2,
        {"id_number": _bad_check(N["c3"])},
        "4:id_number: invalid ID number: check character does not match (ISO 7064 MOD 11-2)",
    ),
    ("cadres.csv", 2, {"name": ""}, "4:name: must not be empty"),
    ("cadres.csv", 2, {"gender": "X"}, "4:gender: must be one of M, F (or 男/女)"),
    ("cadres.csv", 2, {"agency": ""}, "4:agency: must not be empty"),
    (
        "cadres.csv",
        2,
        {"agency_level": "township"},
        "4:agency_level: must be one of central, provincial, prefectural, county",
    ),
    ("cadres.csv", 2, {"home_village_code": "123"}, "4:home_village_code: must be 12 digits"),
    (
        "cadres.csv",
        2,
        {"home_village_code": "520104001001"},
        "4:home_village_code: first 6 digits must equal home_county_code",
    ),
    ("cadres.csv", 1, {"home_county_code": "52010"}, "3:home_county_code: must be 6 digits"),
    (
        "cadres.csv",
        0,
        {"party_join_year": ""},
        "2:party_join_year: required when party_member is true",
    ),
    ("cadres.csv", 0, {"party_member": "perhaps"}, f"2:party_member: {BOOL_RULE}"),
    (
        "cadres.csv",
        0,
        {"party_join_year": str(date.today().year + 1)},
        "2:party_join_year: must not be in the future",
    ),
    (
        "cadres.csv",
        0,
        {"party_join_year": "1990"},
        "2:party_join_year: must be at least 18 years after the birth year",
    ),
    (
        "cadres.csv",
        0,
        {"work_start_year": "1995"},
        "2:work_start_year: must be at least 16 years after the birth year",
    ),
    ("cadres.csv", 0, {"work_start_year": "abc"}, "2:work_start_year: must be an integer"),
    ("cadres.csv", 0, {"skills": "agriculture;cooking"}, f"2:skills: {SKILLS}"),
    ("cadres.csv", 0, {"skills": ""}, "2:skills: must not be empty"),
    ("cadres.csv", 0, {"available": "sometimes"}, f"2:available: {BOOL_RULE}"),
    (
        "cadres.csv",
        2,
        {"spouse_cadre_id": "C999"},
        "4:spouse_cadre_id: unknown cadre (not in cadres.csv nor in the database)",
    ),
    (
        "cadres.csv",
        2,
        {"spouse_cadre_id": "C003"},
        "4:spouse_cadre_id: must not be the cadre's own cadre_id",
    ),
    (
        "cadres.csv",
        2,
        {"serving_county_code": "522699"},
        "4:serving_county_code: unknown county (not in villages.csv nor in the database)",
    ),
    ("cadres.csv", 2, {"serving_county_code": "5226"}, "4:serving_county_code: must be 6 digits"),
    # officials.csv
    (
        "officials.csv",
        1,
        {"person_id": "P001"},
        "3:person_id: duplicate: already on line 2",
    ),
    (
        "officials.csv",
        2,
        {"person_id": "C003"},
        "4:person_id: already a cadre_id (cadres and officials share reviewer IDs)",
    ),
    (
        "officials.csv",
        2,
        {"id_number": "12345"},
        "4:id_number: invalid ID number: must be 18 characters, got 5",
    ),
    ("officials.csv", 2, {"name": ""}, "4:name: must not be empty"),
    (
        "officials.csv",
        2,
        {"level": "province"},
        "4:level: must be one of village, township, county",
    ),
    (
        "officials.csv",
        0,
        {"area_code": TOWNSHIP},
        "2:area_code: must be a village code of 12 digits for level village",
    ),
    (
        "officials.csv",
        0,
        {"area_code": "522626100009"},
        "2:area_code: unknown village (not in villages.csv nor in the database)",
    ),
    (
        "officials.csv",
        1,
        {"area_code": "522626101"},
        "3:area_code: unknown township (not in villages.csv nor in the database)",
    ),
    (
        "officials.csv",
        2,
        {"area_code": "522627"},
        "4:area_code: unknown county (not in villages.csv nor in the database)",
    ),
    (
        "officials.csv",
        2,
        {"area_code": V1},
        "4:area_code: must be a county code of 6 digits for level county",
    ),
    (
        "officials.csv",
        1,
        {"role": "approver"},
        "3:role: must be one of reviewer for level township",
    ),
    (
        "officials.csv",
        0,
        {"role": "reviewer"},
        "2:role: must be one of party_secretary, committee_director, committee_member "
        "for level village",
    ),
    (
        "officials.csv",
        0,
        {"role": "boss"},
        "2:role: must be one of party_secretary, committee_director, committee_member, "
        "reviewer, approver",
    ),
    # relations.csv
    ("relations.csv", 0, {"id_number_b": N["o1"]}, "2:id_number_b: must differ from id_number_a"),
    (
        "relations.csv",
        1,
        {"id_number_a": N["h1"], "id_number_b": N["o1"]},
        "3:id_number_b: duplicate pair: already on line 2 (relations are symmetric)",
    ),
    (
        "relations.csv",
        0,
        {"relation": "friend"},
        "2:relation: must be one of spouse, parent, child, sibling, grandparent, grandchild, "
        "in_law",
    ),
    (
        "relations.csv",
        0,
        {"id_number_a": _bad_check(N["o1"])},
        "2:id_number_a: invalid ID number: check character does not match (ISO 7064 MOD 11-2)",
    ),
    # surveys.csv
    (
        "surveys.csv",
        0,
        {"household_id": "H9999"},
        "2:household_id: unknown household (not in households.csv nor in the database)",
    ),
    ("surveys.csv", 0, {"survey_date": "2025-13-01"}, "2:survey_date: must be a date YYYY-MM-DD"),
    ("surveys.csv", 0, {"survey_date": "2025/06/30"}, "2:survey_date: must be a date YYYY-MM-DD"),
    (
        "surveys.csv",
        1,
        {"household_id": "H0001"},
        "3:survey_date: duplicate household_id and survey_date: already on line 2",
    ),
    ("surveys.csv", 0, {"per_capita_income_yuan": "-1"}, "2:per_capita_income_yuan: must be ≥ 0"),
    ("surveys.csv", 0, {"basic_medical_ok": "x"}, f"2:basic_medical_ok: {BOOL_RULE}"),
    ("surveys.csv", 0, {"housing_grade": "Z"}, "2:housing_grade: must be one of A, B, C, D"),
    (
        "surveys.csv",
        0,
        {"shock": "flood"},
        "2:shock: must be one of none, illness, accident, disaster, unemployment",
    ),
]


def _import(folder: Path, **kw: object) -> ImportResult:
    return import_folder(folder, **kw)  # type: ignore[arg-type]


def _households(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Household)) or 0


def _case_id(case: tuple[str, int, dict[str, str], str]) -> str:
    file, _, cells, message = case
    return f"{file}:{message.split(':')[1]}:{'+'.join(cells)}:{message.split(': ', 1)[1][:24]}"


@pytest.mark.parametrize("case", CELL_CASES, ids=[_case_id(c) for c in CELL_CASES])
def test_one_bad_cell_gives_its_message(
    case: tuple[str, int, dict[str, str], str], engine: Engine, tmp_path: Path
) -> None:
    file, index, cells, message = case
    rows = registry_rows()
    rows[file][index].update(cells)
    result = _import(write_folder(tmp_path / "in", rows))
    assert not result.ok
    assert result.errors == [f"{file}:{message}"]
    assert result.error_count == 1
    assert _households(engine) == 0  # nothing written


def test_the_untouched_folder_is_valid(engine: Engine, tmp_path: Path) -> None:
    """The baseline of every case above: without the bad cell there is no error at all."""
    result = _import(write_folder(tmp_path / "in", registry_rows()))
    assert result.ok, result.errors
    assert result.warnings == []
    assert _households(engine) == 4


def _drop_column(rows: Rows, file: str, column: str) -> None:
    for r in rows[file]:
        del r[column]


def _rename_column(rows: Rows, file: str, old: str, new: str) -> None:
    rows[file] = [{(new if k == old else k): v for k, v in r.items()} for r in rows[file]]


def _add_column(rows: Rows, file: str, column: str) -> None:
    for r in rows[file]:
        r[column] = "blue"


HEADER_CASES: list[tuple[str, Callable[[Rows], None], str]] = [
    (
        "missing",
        lambda r: _drop_column(r, "households.csv", "size"),
        "households.csv:1:size: missing required column (or give the members in members.csv)",
    ),
    (
        "missing-party-year",
        lambda r: _drop_column(r, "cadres.csv", "party_join_year"),
        "cadres.csv:1:party_join_year: missing required column",
    ),
    (
        "unknown",
        lambda r: _add_column(r, "households.csv", "colour"),
        "households.csv:1:colour: unknown column (use --ignore-unknown-columns to skip it)",
    ),
    (
        "duplicate",
        lambda r: _add_column(r, "households.csv", "户编号"),
        "households.csv:1:户编号: duplicate column (same as household_id)",
    ),
    (
        "misspelt",
        lambda r: _rename_column(r, "surveys.csv", "shock", "shocks"),
        "surveys.csv:1:shocks: unknown column (use --ignore-unknown-columns to skip it)",
    ),
]


@pytest.mark.parametrize("case", HEADER_CASES, ids=[c[0] for c in HEADER_CASES])
def test_header_rules(
    case: tuple[str, Callable[[Rows], None], str], engine: Engine, tmp_path: Path
) -> None:
    _, change, message = case
    rows = registry_rows()
    change(rows)
    result = _import(write_folder(tmp_path / "in", rows))
    assert result.errors == [message]


def test_optional_columns_may_be_absent(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows()
    for file, column in (
        ("villages.csv", "main_industries"),
        ("households.csv", "head_birth_year"),
        ("cadres.csv", "home_village_code"),
        ("cadres.csv", "spouse_cadre_id"),
        ("surveys.csv", "shock"),
    ):
        _drop_column(rows, file, column)
    result = _import(write_folder(tmp_path / "in", rows))
    assert result.ok, result.errors


def test_unknown_columns_pass_when_ignored(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows()
    _add_column(rows, "households.csv", "colour")
    result = _import(write_folder(tmp_path / "in", rows), ignore_unknown_columns=True)
    assert result.ok, result.errors
    assert result.notes == ["households.csv: unknown column 'colour' ignored"]
    assert _households(engine) == 4


def test_row_with_wrong_field_count(engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    path = folder / "households.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[3] += b",extra"  # H0003, which no survey names
    path.write_bytes(b"\r\n".join(lines))
    result = _import(folder)
    assert result.errors == ["households.csv:4:*: has 28 fields, the header has 27"]


def test_empty_file(engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    (folder / "surveys.csv").write_text("", encoding="utf-8")
    assert _import(folder).errors == ["surveys.csv:1:*: empty file: no header row"]


def test_malformed_csv(engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    with open(folder / "surveys.csv", "a", encoding="utf-8") as fh:
        fh.write('H0003,"2025-06-30,4000\n')
    result = _import(folder)
    assert len(result.errors) == 1
    assert result.errors[0].startswith("surveys.csv:4:*: malformed CSV (")


def test_not_utf8(engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", registry_rows())
    path = folder / "villages.csv"
    path.write_bytes(path.read_bytes().replace("九寨村".encode(), "九寨村".encode("gbk")))
    result = _import(folder)
    assert result.errors[0].startswith("villages.csv:")
    assert result.errors[0].endswith(":*: not valid UTF-8 (at or after this line)")


def test_line_numbers_are_physical_lines(engine: Engine, tmp_path: Path) -> None:
    """A quoted cell spanning two lines and a blank line shift the lines that follow."""
    rows = registry_rows()
    rows["villages.csv"][0]["name"] = "九寨村\n(新寨)"
    rows["villages.csv"][2]["population"] = "many"
    folder = write_folder(tmp_path / "in", rows)
    path = folder / "villages.csv"
    data = path.read_bytes()
    first_break = data.index(b"\r\n") + 2
    path.write_bytes(data[:first_break] + b"\r\n" + data[first_break:])
    # header 1, blank 2, village 1 on lines 3-4, village 2 on 5, village 3 on 6
    assert _import(folder).errors == ["villages.csv:6:population: must be an integer"]


def test_all_errors_are_reported(engine: Engine, tmp_path: Path) -> None:
    """Every bad row is reported, not only the first; the kept list is capped, the count
    is not."""
    rows = registry_rows()
    for i in range(4):
        rows["households.csv"][i]["size"] = "x"
        rows["households.csv"][i]["attribute"] = "?"
    result = import_folder(write_folder(tmp_path / "in", rows), max_errors=5)
    assert result.error_count == 8
    assert len(result.errors) == 5
    assert result.errors[:2] == [
        "households.csv:2:size: must be an integer",
        "households.csv:2:attribute: must be one of 一般贫困户、低保贫困户、特困供养贫困户、"
        "一般脱贫户、低保脱贫户、特困脱贫户 (or its code)",
    ]


def test_unknown_relative_is_a_warning_and_is_kept(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows()
    rows["relations.csv"][1]["id_number_b"] = N["outsider"]
    result = _import(write_folder(tmp_path / "in", rows))
    assert result.ok, result.errors
    assert result.warnings == [
        "relations.csv:3:id_number_b: unknown ID number: kept, the relative may live elsewhere"
    ]
    relation = next(t for t in result.tables if t.table == "relation")
    assert (relation.inserted, relation.warnings) == (2, 1)


class _Colliding:
    """Keys whose hashes collide on purpose, to show a repeated hash is only a candidate."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __hash__(self) -> int:
        return 42

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Colliding) and other.value == self.value


def test_key_index_candidates_and_membership() -> None:
    from zhucun.exchange.validate import KeyIndex

    index = KeyIndex()
    for key in ("H1", "H2", "H3", "H2"):
        index.add(key)
    assert index.seal() == {hash("H2")}
    assert "H3" in index and "H9" not in index
    colliding = KeyIndex()
    colliding.add(_Colliding("a"))
    colliding.add(_Colliding("b"))
    assert colliding.seal() == {42}  # a candidate, which the re-read then rejects


def test_duplicates_are_confirmed_on_the_real_keys(engine: Engine, tmp_path: Path) -> None:
    """Several duplicates in one file: each reported once, with the line of the first."""
    rows = registry_rows()
    rows["surveys.csv"] += [
        dict(rows["surveys.csv"][0]),
        dict(rows["surveys.csv"][1]),
        dict(rows["surveys.csv"][0]),
    ]
    result = _import(write_folder(tmp_path / "in", rows))
    rule = "survey_date: duplicate household_id and survey_date: already on line"
    assert result.errors == [
        f"surveys.csv:4:{rule} 2",
        f"surveys.csv:5:{rule} 3",
        f"surveys.csv:6:{rule} 2",
    ]


def test_messages_never_quote_an_id_number(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows()
    bad = [_bad_check(N["h3"]), _bad_date(), make_id_number(COUNTY, date(1890, 1, 1), 31)]
    rows["households.csv"][2]["head_id_number"] = bad[0]
    rows["households.csv"][3]["head_id_number"] = bad[1]
    rows["cadres.csv"][2]["id_number"] = bad[2]
    rows["relations.csv"][1]["id_number_b"] = N["outsider"]  # a warning
    rows["relations.csv"].append(dict(rows["relations.csv"][0]))  # a duplicate pair
    result = _import(write_folder(tmp_path / "in", rows))
    assert result.error_count == 4 and result.warning_count == 1
    text = "\n".join(result.errors + result.warnings)
    for idn in [*N.values(), *bad]:
        assert idn not in text
        assert idn[6:14] not in text  # nor its birth date
