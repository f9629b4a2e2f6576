"""Village, township and county officials (the people who co-sign, review and approve), and
the declared-relations writer that links them, household heads and cadres."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from random import Random

from zhucun.generator.geography import County, Township, Village
from zhucun.generator.names import SURNAMES, IdAllocator, birth_date, person_name

OFFICIAL_HEADER = ("person_id", "name", "id_number", "level", "area_code", "role")
RELATION_HEADER = ("id_number_a", "id_number_b", "relation")


@dataclass(frozen=True)
class Person:
    """Someone who can be named in relations.csv."""

    key: str  # person_id, cadre_id or household_id
    name: str
    id_number: str
    birth_year: int
    male: bool

    @property
    def surname(self) -> str:
        return self.name[0]


@dataclass(frozen=True)
class Official:
    person: Person
    level: str
    area_code: str
    role: str

    def row(self) -> list[str]:
        p = self.person
        return [p.key, p.name, p.id_number, self.level, self.area_code, self.role]


def _person(
    rng: Random,
    ids: IdAllocator,
    area: str,
    key: str,
    year: int,
    age: tuple[int, int],
    female_share: float,
    surnames: tuple[str, ...] = SURNAMES,
) -> Person:
    male = rng.random() >= female_share
    born = birth_date(rng, year - rng.randint(*age))
    sur = rng.choice(surnames) if rng.random() < 0.7 else rng.choice(SURNAMES)
    return Person(
        key, person_name(rng, not male, sur), ids.issue(area, born, male), born.year, male
    )


def build_officials(
    rng: Random,
    county: County,
    townships: list[Township],
    villages: list[Village],
    ids: IdAllocator,
    year: int,
) -> dict[str, list[Official]]:
    """Officials by area code: per village a party secretary, a committee director and 1-3
    members; per township 2-3 reviewers; per county 2-4 approvers. All live in the county."""
    out: dict[str, list[Official]] = {}
    area = county.code
    for v in villages:
        people = [
            Official(
                _person(rng, ids, area, f"{v.code}-PS", year, (35, 66), 0.08, v.surnames),
                "village",
                v.code,
                "party_secretary",
            ),
            Official(
                _person(rng, ids, area, f"{v.code}-CD", year, (32, 64), 0.12, v.surnames),
                "village",
                v.code,
                "committee_director",
            ),
        ]
        for k in range(1, rng.randint(1, 3) + 1):
            people.append(
                Official(
                    _person(rng, ids, area, f"{v.code}-CM{k}", year, (26, 62), 0.45, v.surnames),
                    "village",
                    v.code,
                    "committee_member",
                )
            )
        out[v.code] = people
    for t in townships:
        out[t.code] = [
            Official(
                _person(rng, ids, area, f"{t.code}-R{k}", year, (30, 56), 0.3),
                "township",
                t.code,
                "reviewer",
            )
            for k in range(1, rng.randint(2, 3) + 1)
        ]
    out[county.code] = [
        Official(
            _person(rng, ids, area, f"{county.code}-A{k}", year, (38, 58), 0.25),
            "county",
            county.code,
            "approver",
        )
        for k in range(1, rng.randint(2, 4) + 1)
    ]
    return out


def kinship(a: Person, b: Person, rng: Random) -> str:
    """A near-relative kind consistent with ages and surnames (a is the <kind> of b)."""
    gap = b.birth_year - a.birth_year  # > 0: a is older
    if gap >= 18:
        return "parent" if a.surname == b.surname else "in_law"
    if gap <= -18:
        return "child" if a.surname == b.surname else "in_law"
    if a.surname == b.surname:
        return "sibling"
    # never "spouse": a cadre couple's spouse rows are the only marriages declared, so no one
    # ends up with two spouses; a brother- or sister-in-law is as near a relative (近亲属)
    return "in_law" if rng.random() < 0.8 else "sibling"


class RelationWriter:
    """relations.csv, written as cases arise; counts each conflict scenario for the summary."""

    def __init__(self, writer: csv.writer) -> None:  # type: ignore[valid-type]
        self._w = writer
        self.counts: dict[str, int] = {}

    def add(self, a: str, b: str, kind: str, scenario: str) -> None:
        if a == b:
            return
        self._w.writerow((a, b, kind))
        self.counts[scenario] = self.counts.get(scenario, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())
