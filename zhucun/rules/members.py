"""What a household's members say about the household: the counts the rules read (size,
labour, illness, disability, students) and the two guarantees members decide (compulsory
education for ages 6–15, basic medical insurance).

The national system keeps people, not counts: a county's 家庭人口 and 劳动力人数 are tallies
of its 家庭成员 page. When members are given, zhucun derives the counts from them (this
function is the reference; the importer accumulates the same tallies while it streams)
and checks them against the household row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# 义务教育法 (2018 revision) art. 11: children start school at six and receive nine years of
# compulsory education, so ages 6–15 (by birth year) must be at school.
COMPULSORY_AGES = (6, 15)
LABOUR_SKILLS = frozenset({"ordinary", "skilled"})  # 普通劳动力, 技能劳动力
IN_SCHOOL = frozenset({"primary", "junior", "senior", "vocational", "higher", "special"})

# The household columns members decide, in the order of `MemberTally.counts()`.
COUNT_COLUMNS = (
    "size",
    "labour_count",
    "skilled_labour",
    "chronic_illness_members",
    "serious_illness_members",
    "disabled_members",
    "students",
)


def age_in(birth_year: int, year: int) -> int:
    return year - birth_year


def out_of_school(birth_year: int, school_status: str, year: int) -> bool:
    """A child of compulsory-school age who is not at school (控辍保学)."""
    low, high = COMPULSORY_AGES
    return low <= age_in(birth_year, year) <= high and school_status not in IN_SCHOOL


@dataclass(slots=True)
class MemberTally:
    """Running tallies of one household's members, small enough to keep one per household
    while a million member rows stream past (slots: 128 bytes instead of 352)."""

    first_line: int = 0
    size: int = 0
    labour: int = 0
    skilled: int = 0
    chronic: int = 0
    serious: int = 0
    disabled: int = 0
    students: int = 0
    out_of_school: int = 0
    uninsured: int = 0
    heads: int = 0
    head_birth_year: int | None = None

    def add(self, m: Mapping[str, Any], year: int) -> None:
        self.size += 1
        skill, health = m.get("labour_skill"), m.get("health")
        self.labour += skill in LABOUR_SKILLS
        self.skilled += skill == "skilled"
        self.chronic += health == "chronic"
        self.serious += health == "serious"
        self.disabled += health == "disabled" or m.get("disability_grade") is not None
        status = m.get("school_status") or "none"
        self.students += status in IN_SCHOOL
        id_number = m.get("id_number")
        born = int(id_number[6:10]) if id_number else None
        if born is not None and out_of_school(born, status, year):
            self.out_of_school += 1
        self.uninsured += not m.get("medical_insurance", False)
        if m.get("relation") == "head":
            self.heads += 1
            self.head_birth_year = born

    def counts(self) -> tuple[int, ...]:
        return (
            self.size,
            self.labour,
            self.skilled,
            self.chronic,
            self.serious,
            self.disabled,
            self.students,
        )


def tally(members: Iterable[Mapping[str, Any]], year: int) -> MemberTally:
    t = MemberTally()
    for m in members:
        t.add(m, year)
    return t


def derived_fields(t: MemberTally) -> dict[str, Any]:
    """The household columns set from its members. The guarantees only ever go from held
    to not held: a child out of school or a member without medical insurance breaks them,
    but members cannot vouch for what the card's own assessment found missing."""
    out: dict[str, Any] = dict(zip(COUNT_COLUMNS, t.counts(), strict=True))
    out["counts_source"] = "members"
    if t.head_birth_year is not None:
        out["head_birth_year"] = t.head_birth_year
    return out


def apply_members(household: dict[str, Any], t: MemberTally) -> dict[str, Any]:
    """`household` with the counts and guarantees its members decide."""
    household.update(derived_fields(t))
    if t.out_of_school:
        household["compulsory_education_ok"] = False
    if t.uninsured:
        household["basic_medical_ok"] = False
    return household


def count_mismatches(declared: Mapping[str, Any], t: MemberTally) -> list[tuple[str, int, int]]:
    """(column, the household row's value, the members' tally) wherever they differ."""
    out = []
    for column, derived in zip(COUNT_COLUMNS, t.counts(), strict=True):
        value = declared.get(column)
        if value is not None and value != derived:
            out.append((column, value, derived))
    return out
