"""A tiny valid registry folder built in code, so each test changes one cell and knows
exactly which `file:row:column: rule` to expect (row i of a file is on line i + 2).

County 522626 (west), township 522626100, villages ...001 (poor), ...002 and ...003; four
households, three cadres (two married), one official per level, two relations, two
surveys."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from zhucun.exchange.specs import INPUT_BY_NAME
from zhucun.idnumber import make_id_number

Rows = dict[str, list[dict[str, str]]]

COUNTY = "522626"
TOWNSHIP = "522626100"
V1, V2, V3 = "522626100001", "522626100002", "522626100003"


def ids() -> dict[str, str]:
    """Stable, valid ID numbers by role."""
    return {
        "h1": make_id_number(COUNTY, date(1970, 3, 1), 11),
        "h2": make_id_number(COUNTY, date(1965, 7, 9), 22),
        "h3": make_id_number(COUNTY, date(1980, 1, 15), 31),
        "h4": make_id_number(COUNTY, date(1958, 12, 30), 42),
        "c1": make_id_number("520102", date(1985, 5, 5), 51),
        "c2": make_id_number("520102", date(1987, 6, 6), 62),
        "c3": make_id_number("520103", date(1990, 2, 2), 71),
        "o1": make_id_number(COUNTY, date(1972, 4, 4), 81),
        "o2": make_id_number(COUNTY, date(1975, 8, 8), 91),
        "o3": make_id_number(COUNTY, date(1968, 9, 9), 13),
        "outsider": make_id_number("110101", date(1950, 1, 1), 15),
    }


def _village(code: str, name: str, poor: bool) -> dict[str, str]:
    return {
        "village_code": code,
        "name": name,
        "township_code": TOWNSHIP,
        "township_name": "南寨镇",
        "county_code": COUNTY,
        "county_name": "锦屏县",
        "province": "贵州省",
        "region": "west",
        "registered_poor": "true" if poor else "false",
        "population": "1200",
        "collective_income_yuan": "30000.5",
        "road_paved": "yes",
        "safe_water": "1",
        "electricity": "true",
        "broadband": "否",
        "clinic": "是",
        "school": "false",
        "cultural_center": "0",
        "terrain": "mountain",
        "distance_to_county_km": "35.5",
        "main_industries": "茶叶;油茶",
    }


def _household(hid: str, village: str, head: str, idn: str, poor: bool) -> dict[str, str]:
    return {
        "household_id": hid,
        "village_code": village,
        "head_name": head,
        "head_id_number": idn,
        "size": "4",
        "labour_count": "2",
        "skilled_labour": "1",
        "per_capita_income_yuan": "3500",
        "registered_poor": "true" if poor else "false",
        "attribute": "general",
        "housing_grade": "B",
        "food_clothing_secure": "true",
        "compulsory_education_ok": "true",
        "basic_medical_ok": "true",
        "safe_water_ok": "true",
        "chronic_illness_members": "1",
        "serious_illness_members": "0",
        "disabled_members": "0",
        "students": "1",
        "medical_spending_yuan": "2000",
        "education_spending_yuan": "800",
        "land_mu": "2.5",
        "disaster_loss_yuan": "0",
        "road_access": "true",
        "has_credit_access": "false",
        "low_motivation": "false",
        "head_birth_year": "",
    }


def _cadre(cid: str, name: str, idn: str, gender: str, spouse: str = "") -> dict[str, str]:
    return {
        "cadre_id": cid,
        "name": name,
        "id_number": idn,
        "gender": gender,
        "agency": "贵州省农业农村厅",
        "agency_level": "provincial",
        "home_village_code": "",
        "home_county_code": "520102",
        "party_member": "true",
        "party_join_year": "2010",
        "work_start_year": "2008",
        "skills": "agriculture;finance",
        "available": "true",
        "spouse_cadre_id": spouse,
    }


def registry_rows() -> Rows:
    """The folder's rows as strings, English headers; change a cell, then `write_folder`."""
    n = ids()
    return {
        "villages.csv": [
            _village(V1, "九寨村", True),
            _village(V2, "平秋村", False),
            _village(V3, "彦洞村", False),  # referred to by nothing: safe to break
        ],
        "households.csv": [
            _household("H0001", V1, "王明", n["h1"], True),
            _household("H0002", V1, "李芳", n["h2"], True),
            _household("H0003", V2, "张伟", n["h3"], False),
            _household("H0004", V2, "刘洋", n["h4"], True),
        ],
        "cadres.csv": [
            _cadre("C001", "陈静", n["c1"], "F", spouse="C002"),
            _cadre("C002", "杨勇", n["c2"], "M", spouse="C001"),
            {
                **_cadre("C003", "赵磊", n["c3"], "M"),
                "party_member": "false",
                "party_join_year": "",
                "home_village_code": "520103001001",
                "home_county_code": "520103",
                "skills": "health",
            },
        ],
        "officials.csv": [
            {
                "person_id": "P001",
                "name": "吴刚",
                "id_number": n["o1"],
                "level": "village",
                "area_code": V1,
                "role": "party_secretary",
            },
            {
                "person_id": "P002",
                "name": "周平",
                "id_number": n["o2"],
                "level": "township",
                "area_code": TOWNSHIP,
                "role": "reviewer",
            },
            {
                "person_id": "P003",
                "name": "郑华",
                "id_number": n["o3"],
                "level": "county",
                "area_code": COUNTY,
                "role": "approver",
            },
        ],
        "relations.csv": [
            {"id_number_a": n["o1"], "id_number_b": n["h1"], "relation": "sibling"},
            {"id_number_a": n["h2"], "id_number_b": n["c3"], "relation": "parent"},
        ],
        "surveys.csv": [
            {
                "household_id": "H0001",
                "survey_date": "2025-06-30",
                "per_capita_income_yuan": "4200",
                "food_clothing_secure": "true",
                "compulsory_education_ok": "true",
                "basic_medical_ok": "true",
                "safe_water_ok": "true",
                "housing_grade": "B",
                "shock": "",
            },
            {
                "household_id": "H0002",
                "survey_date": "2025-06-30",
                "per_capita_income_yuan": "2900",
                "food_clothing_secure": "true",
                "compulsory_education_ok": "true",
                "basic_medical_ok": "false",
                "safe_water_ok": "true",
                "housing_grade": "C",
                "shock": "illness",
            },
        ],
    }


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> None:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def write_folder(folder: Path, rows: Rows, *, chinese: bool = False, bom: bool = False) -> Path:
    """Write `rows` as CSV files; `chinese` uses the Chinese header wherever one exists."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, records in rows.items():
        # every column any row has (a case may add an optional column to one row)
        keys = list(dict.fromkeys(k for r in records for k in r)) or INPUT_BY_NAME[name].headers
        header = keys
        if chinese:
            by_name = {c.name: c for c in INPUT_BY_NAME[name].columns}
            header = [by_name[k].zh or k if k in by_name else k for k in keys]
        write_csv(folder / name, header, [[r.get(k, "") for k in keys] for r in records], bom=bom)
    return folder


def valid_folder(folder: Path, *, chinese: bool = False, bom: bool = False) -> Path:
    return write_folder(folder, registry_rows(), chinese=chinese, bom=bom)
