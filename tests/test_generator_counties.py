"""The generator gives an importable registry for any of the 832 counties, whatever shape
its reference data has. A stratified sample runs here (all 832 take minutes:
benchmarks/generate_all_counties.py): 阜平 130624 (real villages, and a township, its
经济开发区, with none), 花垣 433124, every province's county with the fewest townships, the
counties with the fewest townships overall, the largest, a county of streets only, one
whose code two listed counties share, and the registry years 2014-2016."""

from __future__ import annotations

import csv
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path

import pytest

from zhucun.exchange.importer import import_folder
from zhucun.generator import generate
from zhucun.generator.geography import sample_villages

HOUSEHOLDS = 40


def _rows(name: str) -> list[dict[str, str]]:
    ref = resources.files("zhucun.reference_data").joinpath(name)
    with ref.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def sample() -> list[str]:
    """Codes chosen from the reference data, so the sample follows it when it changes."""
    counties = _rows("poverty_counties_832.csv")
    townships = _rows("poverty_county_townships_2023.csv")
    size = Counter(r["county_code"] for r in townships)
    kinds: dict[str, set[str]] = {}
    for r in townships:
        kinds.setdefault(r["county_code"], set()).add(r["township_type"])
    codes = {r["county_code"] for r in counties}
    picked = ["130624", "433124"]  # the counties with real villages
    by_province: dict[str, list[str]] = {}
    for c in sorted(codes):
        by_province.setdefault(c[:2], []).append(c)
    for members in by_province.values():
        picked.append(min(members, key=lambda c: (size[c], c)))  # few townships
    by_size = sorted(codes, key=lambda c: (size[c], c))
    picked += by_size[:6] + by_size[-2:]
    picked.append(
        next(c for c in sorted(codes) if kinds[c] <= {"街道", "类似乡级单位(开发区/农场/林场等)"})
    )
    picked += [c for c, n in Counter(r["county_code"] for r in counties).items() if n > 1]
    return list(dict.fromkeys(picked))


def test_sample_is_stratified() -> None:
    codes = sample()
    provinces = {r["province_code"] for r in _rows("poverty_counties_832.csv")}
    assert {c[:2] for c in codes} == provinces
    # the reference data lists a township of 阜平 without any of its villages
    real = sample_villages("130624")
    fuping = {r["township_code"] for r in _rows("poverty_county_townships_2023.csv")}
    assert {t for t in fuping if t.startswith("130624")} - set(real)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _check(code: str, folder: Path, db: Path, year: int = 2026) -> None:
    generate(code, folder, households=HOUSEHOLDS, year=year)
    villages = _read(folder / "villages.csv")
    known = {
        "village": {v["village_code"] for v in villages},
        "township": {v["township_code"] for v in villages},
        "county": {code},
    }
    for o in _read(folder / "officials.csv"):
        assert o["area_code"] in known[o["level"]], (code, o)
    assert {v["county_code"] for v in villages} == {code}
    result = import_folder(folder, url=f"sqlite:///{db}", max_errors=5)
    assert result.ok, (code, result.errors)


@pytest.mark.parametrize("code", sample())
def test_county_registry_imports(code: str, tmp_path: Path) -> None:
    _check(code, tmp_path / "registry", tmp_path / "zhucun.db")


@pytest.mark.parametrize("year", [2014, 2015, 2016])
def test_early_registry_years_import(year: int, tmp_path: Path) -> None:
    _check("130624", tmp_path / "registry", tmp_path / "zhucun.db", year=year)
