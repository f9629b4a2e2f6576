"""Inputs of the county exit check (三率一度): the sample-check file a county imports
(第三方评估 / 省级核查 findings) and the county's incidence from the database.

Nothing here writes: the check reads the file and the database and reports. A bad file is
refused in one line `file:row:column: rule`, before any rate is taken.

Incidence (综合贫困发生率) is taken from the households table, not from VillageStatus: the
persons of households still poor (status `poor` or `relapsed`) ÷ the rural population of the
county's villages (Village.population). It is current (no evaluation run needed) and is
the county-wide ratio itself, not an average of village rates.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import Household, Village

from zhucun.rules.county_exit import SampleCounts

COLUMNS = ("household_id", "kind", "persons", "wrong", "approves")
KINDS = ("exited_sample", "nonregistered_sample", "survey")


class SampleFileError(ValueError):
    """A sample-check file that cannot be read as the format says (one line, for the CLI)."""


def _flag(value: str, where: str, required: bool) -> int:
    if value == "" and not required:
        return 0
    if value not in ("0", "1"):
        raise SampleFileError(f"{where}: must be 0 or 1")
    return int(value)


def read_sample(path: Path) -> SampleCounts:
    """Count the two samples (persons) and the survey (households) of a sample-check CSV
    (UTF-8, with or without BOM). A household appears at most once per kind."""
    name = path.name
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            fields = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in fields]
            if missing:
                raise SampleFileError(f"{name}:1:{missing[0]}: required column missing")
            reader.fieldnames = fields
            raw = list(reader)
    except UnicodeDecodeError:
        raise SampleFileError(f"{name}:1:-: not UTF-8 text") from None
    totals = dict.fromkeys(SampleCounts.model_fields, 0)
    seen: set[tuple[str, str]] = set()
    for n, r in enumerate(raw, start=2):
        cell = {c: (r.get(c) or "").strip() for c in COLUMNS}
        hid, kind = cell["household_id"], cell["kind"]
        if not hid:
            raise SampleFileError(f"{name}:{n}:household_id: a row needs its household")
        if kind not in KINDS:
            raise SampleFileError(f"{name}:{n}:kind: one of {', '.join(KINDS)}")
        if (hid, kind) in seen:
            raise SampleFileError(f"{name}:{n}:household_id: {hid!r} twice as {kind}")
        seen.add((hid, kind))
        survey = kind == "survey"
        bad = not cell["persons"].isdigit() or int(cell["persons"]) < 1
        if bad and not (survey and cell["persons"] == ""):
            raise SampleFileError(f"{name}:{n}:persons: a whole number of persons, 1 or more")
        persons = int(cell["persons"] or 0)
        wrong = _flag(cell["wrong"], f"{name}:{n}:wrong", required=not survey)
        approves = _flag(cell["approves"], f"{name}:{n}:approves", required=survey)
        if survey:
            if wrong:
                raise SampleFileError(f"{name}:{n}:wrong: only for sample rows, not survey")
            totals["surveyed_households"] += 1
            totals["approving_households"] += approves
            continue
        if approves:
            raise SampleFileError(f"{name}:{n}:approves: only for survey rows")
        if kind == "exited_sample":
            totals["exited_persons"] += persons
            totals["wrong_exit_persons"] += persons * wrong
        else:
            totals["nonregistered_persons"] += persons
            totals["missed_persons"] += persons * wrong
    return SampleCounts(**totals)


def county_incidence_counts(session: Session, county_code: str) -> tuple[int, int]:
    """(persons still poor, rural population) over the county's villages (see the module
    docstring for why the households table)."""
    poor = session.scalar(
        select(func.coalesce(func.sum(Household.size), 0))
        .join(Village, Village.village_code == Household.village_code)
        .where(Village.county_code == county_code, Household.status.in_(["poor", "relapsed"]))
    )
    rural = session.scalar(
        select(func.coalesce(func.sum(Village.population), 0)).where(
            Village.county_code == county_code
        )
    )
    return int(poor or 0), int(rural or 0)
