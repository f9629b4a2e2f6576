"""The people of one generated household (家庭成员), built to fit the household row.

The national system keeps people and tallies the card's counts from them, and the importer
does the same (`zhucun.rules.members`). So the members are drawn *from* the counts: exactly
`labour_count` of them 普通/技能劳动力 (`skilled_labour` of those skilled), `students` at
school, the ill and disabled as the row says; a household whose compulsory education is not
assured gets a child of 6–15 out of school, one whose basic medical care is not assured a
member without insurance. Ages are checked in the importer's year (`THIS_YEAR`), so a
registry generated for an earlier year still tallies to the same guarantees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from random import Random

from zhucun.generator.names import SURNAMES, IdAllocator, birth_date, person_name
from zhucun.rules.members import COMPULSORY_AGES

LABOUR_AGES = (16, 64)  # zhucun.rules.quality: labour outside these ages is a finding
ELDERLY_NO_LABOUR = 75
# 民族 of the members by province (code list `ethnicity`): the minorities of the poverty
# counties there, with a rough share; everyone else 汉族. Kept simple on purpose.
MINORITIES: dict[str, tuple[tuple[str, float], ...]] = {
    "15": (("mongol", 0.2),),
    "22": (("korean", 0.1),),
    "42": (("tujia", 0.3),),
    "43": (("miao", 0.25), ("tujia", 0.2)),
    "45": (("zhuang", 0.45), ("yao", 0.1)),
    "46": (("li", 0.4),),
    "50": (("tujia", 0.3),),
    "51": (("yi", 0.25), ("tibetan", 0.1)),
    "52": (("miao", 0.2), ("buyei", 0.12), ("dong", 0.08)),
    "53": (("yi", 0.2), ("hani", 0.1), ("dai", 0.05)),
    "54": (("tibetan", 0.95),),
    "62": (("hui", 0.1), ("dongxiang", 0.05)),
    "63": (("tibetan", 0.35), ("hui", 0.2)),
    "64": (("hui", 0.4),),
    "65": (("uyghur", 0.8), ("kazakh", 0.05)),
}
XIANGXI = (("miao", 0.55), ("tujia", 0.3))  # 湘西 (4331…): 花垣县 is mostly Miao
SCHOOL_AGES = {
    "primary": (6, 11),
    "junior": (12, 14),
    "senior": (15, 17),
    "vocational": (15, 17),
    "higher": (18, 21),
}
SCHOOL_EDUCATION = {
    "primary": "primary",
    "junior": "junior",
    "senior": "senior",
    "vocational": "senior",
    "higher": "college",
}
# 文化程度 of adults not at school, by birth year: older rural cohorts had little schooling
ADULT_EDUCATION: tuple[tuple[int, tuple[tuple[str, float], ...]], ...] = (
    (1950, (("illiterate", 0.45), ("primary", 0.45), ("junior", 0.1))),
    (1970, (("illiterate", 0.15), ("primary", 0.45), ("junior", 0.35), ("senior", 0.05))),
    (1990, (("primary", 0.2), ("junior", 0.6), ("senior", 0.15), ("college", 0.05))),
    (10_000, (("junior", 0.45), ("senior", 0.35), ("college", 0.2))),
)
RELATION_ORDER = (
    "head",
    "spouse",
    "father",
    "mother",
    "father_in_law",
    "mother_in_law",
    "sibling",
    "son",
    "daughter",
    "daughter_in_law",
    "son_in_law",
    "grandson",
    "granddaughter",
    "other",
)
# relatives who carry the head's surname (when the head is a man)
KIN = frozenset({"father", "sibling", "son", "daughter", "grandson", "granddaughter"})
MEMBER_HEADER = (
    "member_id",
    "household_id",
    "name",
    "id_number",
    "relation",
    "gender",
    "ethnicity",
    "education",
    "school_status",
    "health",
    "disability_grade",
    "disability_cert",
    "labour_skill",
    "migrant_months",
    "medical_insurance",
    "serious_illness_insurance",
    "pension_insurance",
    "phone",
)


@dataclass
class Counts:
    """What the household row says its members are."""

    size: int
    labour: int
    skilled: int
    chronic: int
    serious: int
    disabled: int
    students: int
    education_ok: bool
    medical_ok: bool


@dataclass
class Member:
    """One person (codes of the contract; `age` in the registry's year)."""

    relation: str
    age: int
    male: bool
    labour: bool = False
    school: str = "none"
    dropout: bool = False
    health: str = "healthy"
    skilled: bool = False
    grade: int | None = None
    name: str = ""
    id_number: str = ""
    ethnicity: str = "han"
    education: str = ""
    labour_skill: str = "none"
    migrant_months: int = 0
    insured: bool = True
    pension: bool = False
    phone: str = ""
    cert: str = ""

    def row(self, member_id: str, household_id: str) -> list[str | int]:
        b = ("false", "true")
        return [
            member_id,
            household_id,
            self.name,
            self.id_number,
            self.relation,
            "M" if self.male else "F",
            self.ethnicity,
            self.education,
            self.school,
            self.health,
            "" if self.grade is None else self.grade,
            self.cert,
            self.labour_skill,
            self.migrant_months,
            b[self.insured],
            b[self.insured],  # 大病保险 covers every enrollee of 基本医疗保险
            b[self.pension],
            self.phone,
        ]


def head_age_for(counts: Counts, age: int) -> int:
    """A head who must be labour (every member is) is of working age."""
    if counts.labour >= counts.size:
        return min(age, LABOUR_AGES[1])
    return age


def mobile(rng: Random) -> str:
    return "1" + rng.choice("3578") + f"{rng.randrange(10**9):09d}"


def ethnicity_table(county_code: str) -> tuple[tuple[str, float], ...]:
    return XIANGXI if county_code.startswith("4331") else MINORITIES.get(county_code[:2], ())


def pick_ethnicity(rng: Random, table: tuple[tuple[str, float], ...]) -> str:
    r = rng.random()
    for code, share in table:
        if r < share:
            return code
        r -= share
    return "han"


class Family:
    """Draws the members of one household around its head."""

    def __init__(self, rng: Random, year: int, counts: Counts, head_age: int, male: bool):
        self.rng = rng
        self.year = year
        # ages are drawn in the registry's year and checked in the importer's
        self.off = date.today().year - year
        self.min_age = max(0, 1 - self.off)  # nobody born after last year
        self.c = counts
        self.head = Member("head", head_age, male)
        self.people = [self.head]
        self.spouse_free = True
        self.parents_free = ["father", "mother"]

    def school_age(self, age: int) -> bool:
        low, high = COMPULSORY_AGES
        return low <= age + self.off <= high

    def relation_for(self, age: int) -> tuple[str, bool]:
        """(relation, male) of a member of `age`, as the head's age allows."""
        rng, a = self.rng, self.head.age
        diff = a - age
        male = rng.random() < 0.5
        if diff >= 42 or (diff >= 38 and rng.random() < 0.5):
            return ("grandson" if male else "granddaughter"), male
        if diff >= 18:
            if age >= 20 and rng.random() < 0.15:
                return ("son_in_law", True) if rng.random() < 0.2 else ("daughter_in_law", False)
            return ("son" if male else "daughter"), male
        if diff <= -18 and self.parents_free:
            rel = self.parents_free.pop(rng.randrange(len(self.parents_free)))
            return rel, rel == "father"
        if abs(diff) <= 15:
            return "sibling", male
        return "other", male

    def add(self, age: int, relation: str | None = None, male: bool | None = None) -> Member:
        if relation is None:
            relation, male = self.relation_for(age)
        if relation == "spouse":
            self.spouse_free = False
        m = Member(relation, age, bool(male) if male is not None else self.rng.random() < 0.5)
        self.people.append(m)
        return m

    def spouse_age(self) -> int:
        return max(18, self.head.age + self.rng.randint(-6, 4) * (1 if self.head.male else -1))

    def labourer(self) -> Member:
        rng, a = self.rng, self.head.age
        low, high = max(LABOUR_AGES[0], 16 - self.off), LABOUR_AGES[1]
        if self.spouse_free and 20 <= a <= 70 and rng.random() < 0.85:
            m = self.add(min(high, max(low, self.spouse_age())), "spouse", not self.head.male)
            m.labour = True
            return m
        if a - 20 >= low:
            age = rng.randint(max(low, a - 36), min(high, a - 20))
        else:
            age = min(high, max(low, a + rng.randint(-8, 8)))
        m = self.add(age)
        m.labour = True
        return m

    def student(self, labour: bool) -> Member:
        rng = self.rng
        if labour:
            status = "vocational" if rng.random() < 0.35 else "higher"
            low, high = (16, 17) if status == "vocational" else SCHOOL_AGES["higher"]
        else:
            r = rng.random()
            status = (
                "primary"
                if r < 0.45
                else "junior"
                if r < 0.7
                else "senior"
                if r < 0.82
                else "vocational"
                if r < 0.9
                else "higher"
            )
            low, high = SCHOOL_AGES[status]
        m = self.add(max(self.min_age, rng.randint(low, high)))
        m.school, m.labour = status, labour
        return m

    def dropout_age(self) -> int | None:
        low, high = COMPULSORY_AGES
        low, high = max(self.min_age, low - self.off), min(high - self.off, self.head.age - 16)
        return self.rng.randint(max(low, high - 4), high) if low <= high else None

    def dependant(self) -> Member:
        """Someone neither labour nor at school: an old parent or spouse, a small child,
        never a child of compulsory-school age."""
        rng, a = self.rng, self.head.age
        young_high = min(5 - self.off, a - 18)
        options = []
        if self.spouse_free and a >= 20:
            options.append("spouse")
        if self.parents_free and a <= 68:
            options.append("parent")
        if young_high >= self.min_age:
            options += ["child", "child"]
        choice = rng.choice(options) if options else "elder"
        if choice == "spouse":
            return self.add(self.spouse_age(), "spouse", not self.head.male)
        if choice == "parent":
            return self.add(min(95, a + rng.randint(20, 32)))
        if choice == "child":
            return self.add(rng.randint(self.min_age, young_high))
        age = max(a + rng.randint(-10, 10), 16 - self.off, 16)  # a sibling, past school age
        return self.add(age)


def fit_health(counts: Counts, main_cause: str) -> None:
    """One 健康状况 per person: the ill and the disabled cannot outnumber the household (a
    disabled member's health is 残疾). The other cause gives way, never the main one."""
    c = counts
    while c.chronic + c.serious + c.disabled > c.size:
        if main_cause == "illness" and c.disabled:
            c.disabled -= 1
        elif c.chronic:
            c.chronic -= 1
        elif main_cause != "illness" and c.serious:
            c.serious -= 1
        else:
            c.disabled -= 1
    # The seriously ill go to members not counted as labour first; those left over are
    # labour but never 技能劳动力 (`zhucun check` flags a skilled labourer with 患有大病).
    ill_labour = max(0, c.serious - (c.size - c.labour))
    c.skilled = min(c.skilled, c.labour - ill_labour)


def draw_family(rng: Random, year: int, counts: Counts, head_age: int, male: bool) -> Family:
    """The members' roles and ages; `counts.education_ok` is set True when the household
    has no room for a child out of school (then the row must say so too)."""
    f = Family(rng, year, counts, head_age, male)
    c = counts
    head_labour = c.labour >= 1 and (head_age <= LABOUR_AGES[1] or c.labour >= c.size)
    f.head.labour = head_labour
    rest = c.size - 1
    need = c.labour - head_labour
    dropout = not c.education_ok and f.dropout_age() is not None
    if dropout and need + c.students + 1 - rest > min(need, c.students):
        dropout = False
    c.education_ok = not dropout
    overlap = max(0, need + c.students + dropout - rest)
    for _ in range(overlap):
        f.student(labour=True)
    for _ in range(need - overlap):
        f.labourer()
    for _ in range(c.students - overlap):
        f.student(labour=False)
    if dropout:
        age = f.dropout_age()
        assert age is not None
        f.add(age).dropout = True
    while len(f.people) < c.size:
        f.dependant()
    return f


def _assign_health(rng: Random, people: list[Member], c: Counts) -> None:
    """The ill first among those not counted as labour, the disabled among the healthy."""

    def order(m: Member) -> tuple[int, float]:
        return (m.labour, -m.age + rng.random() * 20)

    pool = sorted(people, key=order)
    for m in pool[: c.serious]:
        m.health = "serious"
    for m in pool[c.serious : c.serious + c.chronic]:
        m.health = "chronic"
    healthy = [m for m in people if m.health == "healthy"]
    rng.shuffle(healthy)
    for m in healthy[: c.disabled]:  # fit_health leaves room for every one of them
        m.grade = rng.choice((1, 2, 3, 3, 4, 4))
        m.health = "disabled"
    labour = [m for m in people if m.labour]
    labour.sort(key=lambda m: (m.health == "serious", rng.random()))
    for m in labour[: c.skilled]:
        m.skilled = True


def _education(rng: Random, m: Member, year: int) -> str:
    if m.school != "none":
        return SCHOOL_EDUCATION.get(m.school, "preschool")
    if m.age < 6:
        return "preschool"
    if m.dropout or m.age < 12:
        return "primary"
    born = year - m.age
    table = next(t for limit, t in ADULT_EDUCATION if born < limit)
    r = rng.random()
    for level, share in table:
        if r < share:
            return level
        r -= share
    return table[-1][0]


def members(
    rng: Random,
    year: int,
    county_code: str,
    counts: Counts,
    head: tuple[str, str, int, bool],
    ids: IdAllocator,
    ethnicities: tuple[tuple[str, float], ...],
) -> list[Member]:
    """Every member of a household, head first. `head`: (name, ID number, age, male)."""
    head_name, head_id, head_age, male = head
    f = draw_family(rng, year, counts, head_age, male)
    people = f.people
    _assign_health(rng, people, counts)
    surname = head_name[0]
    ethnic = pick_ethnicity(rng, ethnicities)
    uninsured = -1
    if not counts.medical_ok:
        adults = [i for i, m in enumerate(people) if m.age >= 16] or [0]
        uninsured = rng.choice(adults)
    for i, m in enumerate(people):
        if i == 0:
            m.name, m.id_number = head_name, head_id
        else:
            kin = m.relation in KIN
            sur = surname if kin and (male or rng.random() < 0.5) else rng.choice(SURNAMES)
            m.name = person_name(rng, not m.male, sur)
            m.id_number = ids.issue(county_code, birth_date(rng, year - m.age), m.male)
        m.ethnicity = (
            ethnic
            if m.relation != "spouse" or rng.random() < 0.85
            else (pick_ethnicity(rng, ethnicities))
        )
        if m.age < 6 and m.school == "none" and m.age >= 3 and rng.random() < 0.7:
            m.school = "preschool"
        m.education = _education(rng, m, year)
        if m.labour:
            m.labour_skill = "skilled" if m.skilled else "ordinary"
            if rng.random() < (0.6 if m.skilled else 0.4) and m.health != "serious":
                m.migrant_months = rng.randint(3, 12)
        elif m.age < 16 or m.age >= ELDERLY_NO_LABOUR or m.school != "none":
            m.labour_skill = "none"
        elif m.health == "serious" or (m.grade is not None and m.grade <= 2):
            m.labour_skill = "lost"
        else:
            m.labour_skill = "weak"
        m.insured = i != uninsured
        m.pension = m.insured and m.age >= 16 and m.school == "none" and rng.random() < 0.85
        if m.age >= 16 and (m.labour or i == 0) and rng.random() < 0.35:
            m.phone = mobile(rng)
        if m.grade is not None:
            m.cert = f"{m.id_number}{rng.randint(1, 7)}{m.grade}"
    people.sort(key=lambda m: (RELATION_ORDER.index(m.relation), -m.age))
    return people
