"""A small, coherent county written straight into the database, for task and flow tests
that must not depend on the generator or the importer. Every scenario a rule needs is
here on purpose and named in `SeedInfo`.

Layout (county 130624, east): township 130624100 with villages V[0..n-1]; the first
`poor_villages` are registered poor. Cadres come from two agencies; officials per village,
two township reviewers and two county approvers. Relations plant conflicts of interest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert
from sqlmodel import Session
from zhucun.models import Cadre, County, Household, Official, Relation, Survey, Township, Village

from zhucun.idnumber import make_id_number

COUNTY = "130624"
TOWNSHIP = "130624100"


@dataclass
class SeedInfo:
    county: str
    villages: list[str]
    poor_villages: list[str]
    households: list[str]
    poor_households: list[str]
    cadres: list[str]
    officials: dict[str, dict[str, str]] = field(default_factory=dict)  # village → role → id
    township_reviewers: list[str] = field(default_factory=list)
    county_approvers: list[str] = field(default_factory=list)
    # planted scenarios
    cadre_related_to_director: tuple[str, str] = ("", "")  # (cadre_id, village_code)
    cadre_home_village: tuple[str, str] = ("", "")  # (cadre_id, village_code)
    cadre_related_to_head: tuple[str, str] = ("", "")  # (cadre_id, household_id)
    spouses: tuple[str, str] = ("", "")
    junior_party_cadre: str = ""  # party member < 1 year: never first secretary
    official_relative_household: tuple[str, str] = ("", "")  # (person_id, household_id)
    reviewer_relative_household: tuple[str, str] = ("", "")  # (person_id, household_id)
    id_numbers: dict[str, str] = field(default_factory=dict)  # person/cadre/household → id no


def _id(rng: random.Random, year: int, seq: int) -> str:
    return make_id_number(COUNTY, date(year, rng.randint(1, 12), rng.randint(1, 28)), seq)


def seed_county(
    session: Session,
    *,
    villages: int = 6,
    poor_villages: int = 4,
    households_per_village: int = 20,
    cadres: int = 60,
    seed: int = 7,
    cycle_year: int = 2026,
) -> SeedInfo:
    """Insert the county and return what was planted. The caller commits."""
    rng = random.Random(seed)
    seq = iter(range(1, 10**6))
    session.add(County(county_code=COUNTY, name="阜平县", province="河北省", region="east"))
    session.add(Township(township_code=TOWNSHIP, name="阜平镇", county_code=COUNTY))
    vcodes = [f"{TOWNSHIP}{200 + i:03d}" for i in range(villages)]
    info = SeedInfo(COUNTY, vcodes, vcodes[:poor_villages], [], [], [])
    vrows = []
    for i, vc in enumerate(vcodes):
        poor = i < poor_villages
        vrows.append(
            dict(
                village_code=vc,
                name=f"第{i + 1}村",
                township_code=TOWNSHIP,
                county_code=COUNTY,
                registered_poor=poor,
                population=households_per_village * 4 * (5 if poor else 20),
                collective_income_yuan=0.0 if poor else 50000.0,
                road_paved=not poor or i % 2 == 0,
                safe_water=not poor,
                electricity=True,
                broadband=not poor,
                clinic=i % 3 != 0,
                school=True,
                cultural_center=not poor,
                terrain="mountain",
                distance_to_county_km=10.0 + i,
                main_industries=[] if poor else ["核桃"],
            )
        )
    session.execute(insert(Village), vrows)

    hrows = []
    line = 4000.0
    for vc in vcodes:
        for j in range(households_per_village):
            hid = f"H{vc[-3:]}{j:03d}"
            poor = vc in info.poor_villages or j < 2
            size = rng.randint(1, 6)
            labour = rng.randint(0, size)
            head_id = _id(rng, rng.randint(1950, 1995), next(seq))
            info.id_numbers[hid] = head_id
            hrows.append(
                dict(
                    household_id=hid,
                    village_code=vc,
                    head_name=f"户主{hid}",
                    head_id_number=head_id,
                    size=size,
                    labour_count=labour,
                    skilled_labour=rng.randint(0, labour),
                    status="poor" if poor else "non_poor",
                    per_capita_income_yuan=round(
                        rng.uniform(0.5, 0.98) * line if poor else rng.uniform(1.2, 3) * line, 2
                    ),
                    registered_poor=poor,
                    attribute="dibao" if labour == 0 else "general",
                    housing_grade=rng.choice("ABBCD"),
                    food_clothing_secure=True,
                    compulsory_education_ok=rng.random() > 0.1,
                    basic_medical_ok=True,
                    safe_water_ok=rng.random() > 0.2,
                    chronic_illness_members=rng.randint(0, 1),
                    serious_illness_members=1 if rng.random() < 0.4 else 0,
                    disabled_members=1 if rng.random() < 0.15 else 0,
                    students=rng.randint(0, 2),
                    medical_spending_yuan=rng.choice([0, 3000, 9000]),
                    education_spending_yuan=rng.choice([0, 2000, 6000]),
                    land_mu=rng.choice([0.5, 2.0, 5.0]),
                    disaster_loss_yuan=rng.choice([0, 0, 5000]),
                    road_access=rng.random() > 0.1,
                    has_credit_access=rng.random() > 0.5,
                    low_motivation=rng.random() < 0.1,
                    head_birth_year=int(head_id[6:10]),
                )
            )
            info.households.append(hid)
            if poor:
                info.poor_households.append(hid)
    session.execute(insert(Household), hrows)

    # Officials: per village a secretary, a director and a member; 2 reviewers; 2 approvers.
    orows = []
    for vc in vcodes:
        info.officials[vc] = {}
        for role, abbr in (
            ("party_secretary", "S"),
            ("committee_director", "D"),
            ("committee_member", "M"),
        ):
            pid = f"P{vc[-3:]}{abbr}"
            orows.append(
                dict(
                    person_id=pid,
                    name=f"干部{pid}",
                    id_number=_id(rng, 1970, next(seq)),
                    level="village",
                    area_code=vc,
                    role=role,
                )
            )
            info.officials[vc][role] = pid
    for k in range(2):
        pid = f"T{k}"
        orows.append(
            dict(
                person_id=pid,
                name=f"审核{k}",
                id_number=_id(rng, 1975, next(seq)),
                level="township",
                area_code=TOWNSHIP,
                role="reviewer",
            )
        )
        info.township_reviewers.append(pid)
        pid = f"X{k}"
        orows.append(
            dict(
                person_id=pid,
                name=f"审批{k}",
                id_number=_id(rng, 1972, next(seq)),
                level="county",
                area_code=COUNTY,
                role="approver",
            )
        )
        info.county_approvers.append(pid)
    for o in orows:
        info.id_numbers[o["person_id"]] = o["id_number"]
    session.execute(insert(Official), orows)

    crows = []
    agencies = [("省农业农村厅", "provincial"), ("县卫生健康局", "county")]
    skills_pool = [
        "agriculture",
        "health",
        "education",
        "finance",
        "infrastructure",
        "governance",
        "social_work",
        "ecommerce",
        "tourism",
    ]
    for k in range(cadres):
        cid = f"C{k:03d}"
        agency, level = agencies[k % 2]
        crows.append(
            dict(
                cadre_id=cid,
                name=f"干部{cid}",
                id_number=_id(rng, rng.randint(1970, 1996), next(seq)),
                gender="M" if k % 3 else "F",
                agency=agency,
                agency_level=level,
                home_village_code=None,
                home_county_code="130100",
                party_member=k % 4 != 3,
                party_join_year=2005 if k % 4 != 3 else None,
                work_start_year=2000 + k % 20,
                skills=rng.sample(skills_pool, 2),
                available=True,
                spouse_cadre_id=None,
            )
        )
        info.cadres.append(cid)
    # planted: a cadre from poor village 0; a junior party member; a married couple
    crows[0]["home_village_code"] = vcodes[0]
    info.cadre_home_village = ("C000", vcodes[0])
    crows[1]["party_join_year"] = cycle_year  # joined this year: not ≥1 year
    crows[1]["work_start_year"] = cycle_year - 1
    info.junior_party_cadre = "C001"
    crows[2]["spouse_cadre_id"], crows[4]["spouse_cadre_id"] = "C004", "C002"
    crows[2]["gender"], crows[4]["gender"] = "M", "F"
    info.spouses = ("C002", "C004")
    for c in crows:
        info.id_numbers[c["cadre_id"]] = c["id_number"]
    session.execute(insert(Cadre), crows)

    def rel(a: str, b: str, kind: str) -> dict[str, str]:
        x, y = sorted((a, b))
        return dict(id_number_a=x, id_number_b=y, relation=kind)

    ids = info.id_numbers
    v1 = vcodes[1]
    poor_in_v1 = [h for h in info.poor_households if h.startswith(f"H{v1[-3:]}")]
    rrows = [
        rel(ids["C003"], ids[info.officials[v1]["committee_director"]], "sibling"),
        rel(ids["C005"], ids[poor_in_v1[0]], "child"),
        rel(ids["C002"], ids["C004"], "spouse"),
        rel(ids[info.officials[v1]["party_secretary"]], ids[poor_in_v1[1]], "sibling"),
        rel(ids["T0"], ids[poor_in_v1[2]], "in_law"),
    ]
    info.cadre_related_to_director = ("C003", v1)
    info.cadre_related_to_head = ("C005", poor_in_v1[0])
    info.official_relative_household = (info.officials[v1]["party_secretary"], poor_in_v1[1])
    info.reviewer_relative_household = ("T0", poor_in_v1[2])
    session.execute(insert(Relation), rrows)
    session.flush()
    return info


def add_surveys(session: Session, rows: list[dict]) -> None:
    """Insert survey rows (dicts with the surveys.csv columns, survey_date a date)."""
    session.execute(insert(Survey), [{"shock": "none", **r} for r in rows])
