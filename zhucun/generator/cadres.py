"""Cadres of the sponsor agencies (派出单位) at four levels, streamed to cadres.csv.

Skills follow the agency's field (a health commission sends health cadres); party years and
work years vary so that some are too junior to lead a team; some are born in a village of
this county (never to be sent home), some are married to each other (never sent together),
some are near relatives of a village official or a poor household head (conflicts)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from zhucun.generator import distributions as d
from zhucun.generator.geography import County, Village, poverty_county_codes
from zhucun.generator.households import pick, table
from zhucun.generator.names import IdAllocator, birth_date, person_name
from zhucun.generator.officials import Official, Person, RelationWriter, kinship
from zhucun.models.enums import Skill

CADRE_HEADER = (
    "cadre_id",
    "name",
    "id_number",
    "gender",
    "agency",
    "agency_level",
    "home_village_code",
    "home_county_code",
    "party_member",
    "party_join_year",
    "work_start_year",
    "skills",
    "available",
    "spouse_cadre_id",
    "serving_county_code",
)
SPOUSE = CADRE_HEADER.index("spouse_cadre_id")
ALL_SKILLS = tuple(s.value for s in Skill)

# unit suffix -> (primary skill, frequent second skills)
_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "农业农村": ("agriculture", ("ecommerce", "tourism", "finance")),
    "卫生健康": ("health", ("social_work",)),
    "教育": ("education", ("social_work",)),
    "交通运输": ("infrastructure", ("governance",)),
    "财政": ("finance", ("governance",)),
    "水利": ("infrastructure", ("agriculture",)),
    "商务": ("ecommerce", ("finance",)),
    "文化旅游": ("tourism", ("education", "ecommerce")),
    "民政": ("social_work", ("governance",)),
    "组织部": ("governance", ("social_work",)),
    "人社": ("social_work", ("governance", "ecommerce")),
    "医院": ("health", ()),
    "银行": ("finance", ("ecommerce",)),
    "电网": ("infrastructure", ()),
    "乡村振兴": ("governance", ("agriculture",)),
}
_CENTRAL = (
    ("农业农村部", "农业农村"),
    ("国家卫生健康委员会", "卫生健康"),
    ("教育部", "教育"),
    ("交通运输部", "交通运输"),
    ("中国农业银行", "银行"),
    ("国家电网有限公司", "电网"),
    ("水利部", "水利"),
    ("商务部", "商务"),
    ("文化和旅游部", "文化旅游"),
    ("国家开发银行", "银行"),
    ("中国建设银行", "银行"),
)
_PROVINCIAL = (
    ("{p}农业农村厅", "农业农村"),
    ("{p}卫生健康委员会", "卫生健康"),
    ("{p}教育厅", "教育"),
    ("{p}交通运输厅", "交通运输"),
    ("{p}财政厅", "财政"),
    ("{p}水利厅", "水利"),
    ("{p}商务厅", "商务"),
    ("{p}文化和旅游厅", "文化旅游"),
    ("{p}民政厅", "民政"),
    ("中共{p}委组织部", "组织部"),
    ("{p}乡村振兴局", "乡村振兴"),
)
_PREFECTURAL = (
    ("{p}农业农村局", "农业农村"),
    ("{p}卫生健康委员会", "卫生健康"),
    ("{p}教育局", "教育"),
    ("{p}交通运输局", "交通运输"),
    ("{p}财政局", "财政"),
    ("{p}水务局", "水利"),
    ("{p}商务局", "商务"),
    ("{p}文化广电和旅游局", "文化旅游"),
    ("{p}民政局", "民政"),
    ("中共{p}委组织部", "组织部"),
    ("{p}人民医院", "医院"),
    ("{p}人力资源和社会保障局", "人社"),
)
_COUNTY = (
    ("{p}农业农村局", "农业农村"),
    ("{p}卫生健康局", "卫生健康"),
    ("{p}教育局", "教育"),
    ("{p}交通运输局", "交通运输"),
    ("{p}财政局", "财政"),
    ("{p}水利局", "水利"),
    ("{p}商务局", "商务"),
    ("{p}文化旅游广电局", "文化旅游"),
    ("{p}民政局", "民政"),
    ("中共{p}委组织部", "组织部"),
    ("{p}人民医院", "医院"),
    ("{p}人力资源和社会保障局", "人社"),
    ("{p}农村信用合作联社", "银行"),
    ("{p}乡村振兴局", "乡村振兴"),
)


@dataclass(frozen=True)
class Agency:
    name: str
    level: str
    field: str


def agencies(rng: Random, county: County) -> dict[str, list[Agency]]:
    """The sponsor units that send cadres to this county, by level."""
    central = rng.sample(_CENTRAL, 2)
    provincial = rng.sample(_PROVINCIAL, 6)
    prefectural = rng.sample(_PREFECTURAL, 8)
    return {
        "central": [Agency(n, "central", f) for n, f in central],
        "provincial": [Agency(n.format(p=county.province), "provincial", f) for n, f in provincial],
        "prefectural": [
            Agency(n.format(p=county.prefecture), "prefectural", f) for n, f in prefectural
        ],
        "county": [Agency(n.format(p=county.name), "county", f) for n, f in _COUNTY],
    }


def cadre_count(
    poor_households: int, poor_villages: int, caseload_cap: int, team_max: int, ratio: float = 1.0
) -> int:
    """Enough cadres for a full team in every poor village and a helper (at most `cap`
    households each) for every poor household, with a margin; `ratio` < 1 makes shortages."""
    need = poor_households / caseload_cap * d.CADRE_HELPER_MARGIN + team_max * poor_villages
    return max(0, round(need * ratio))


class CadreStream:
    """Writes `n` cadres; keeps nothing per cadre in memory."""

    def __init__(
        self,
        rng: Random,
        county: County,
        year: int,
        villages: Sequence[Village],
        ids: IdAllocator,
        relations: RelationWriter,
        poor_village_officials: Sequence[Official],
        poor_heads: Sequence[Person],
    ) -> None:
        self.rng, self.county, self.year = rng, county, year
        self.ids, self.relations = ids, relations
        self.officials, self.heads = poor_village_officials, poor_heads
        self.units = agencies(rng, county)
        self.level_table = table(d.AGENCY_LEVEL_WEIGHTS)
        self.village_codes = [v.code for v in villages]
        self.poor_codes = [v.code for v in villages if v.registered_poor] or self.village_codes
        codes = poverty_county_codes()
        self.province_codes = [
            c for c in codes if c[:2] == county.province_code and c != county.code
        ] or [county.code]
        self.all_codes = codes
        self.available = 0
        self.p_official = d.CADRE_RELATED_TO_OFFICIAL
        self.p_head = d.CADRE_RELATED_TO_HEAD
        self.home_village = 0
        self.couples = 0

    def _skills(self, field: str) -> str:
        rng = self.rng
        primary, seconds = _FIELDS[field]
        skills = [primary]
        if rng.random() < 0.55:
            s = rng.choice(seconds) if seconds and rng.random() < 0.7 else rng.choice(ALL_SKILLS)
            if s not in skills:
                skills.append(s)
        if rng.random() < 0.12:
            s = rng.choice(ALL_SKILLS)
            if s not in skills:
                skills.append(s)
        return ";".join(skills)

    def _one(
        self, i: int, male: bool | None = None, age: int | None = None, level: str | None = None
    ) -> tuple[list, Person]:
        rng, year = self.rng, self.year
        level = level or pick(rng, self.level_table)
        agency = rng.choice(self.units[level])
        if male is None:
            male = rng.random() >= d.CADRE_FEMALE
        junior = rng.random() < d.CADRE_JUNIOR
        if age is None:
            age = rng.randint(23, 27) if junior else int(rng.triangular(24, 58, 40))
        born = birth_date(rng, year - age)
        home_village = ""
        local_share = {"county": 0.8, "prefectural": 0.35}.get(level, 0.0)
        if rng.random() < local_share:
            home_county = self.county.code
            if level == "county" and rng.random() < d.LOCAL_CADRE_HOME_VILLAGE:
                pool = self.poor_codes if rng.random() < 0.5 else self.village_codes
                home_village = rng.choice(pool)
                self.home_village += 1
        elif level == "central":
            home_county = rng.choice(self.all_codes)
        else:
            home_county = rng.choice(self.province_codes)
        id_number = self.ids.issue(home_county, born, male)
        name = person_name(rng, not male)
        work_start = (
            year - rng.randint(0, 1) if junior else min(year - 2, born.year + rng.randint(20, 26))
        )
        party = rng.random() < d.CADRE_PARTY_MEMBER
        join = ""
        if party:
            if rng.random() < d.CADRE_NEW_PARTY_MEMBER or junior:
                join = str(year)
            else:
                join = str(rng.randint(min(year - 1, born.year + 18), year - 1))
        available = rng.random() < d.CADRE_AVAILABLE
        self.available += available
        cid = f"C{self.county.code}{i:06d}"
        row = [
            cid,
            name,
            id_number,
            "M" if male else "F",
            agency.name,
            level,
            home_village,
            home_county,
            "true" if party else "false",
            join,
            work_start,
            self._skills(agency.field),
            "true" if available else "false",
            "",  # spouse_cadre_id, filled for couples
            self.county.code,  # 派驻县: the units above were chosen for this county
        ]
        return row, Person(cid, name, id_number, born.year, male)

    def _conflicts(self, i: int, person: Person) -> None:
        rng = self.rng
        if self.officials and (rng.random() < self.p_official or i in (0, 1)):
            o = rng.choice(self.officials).person
            self.relations.add(
                person.id_number, o.id_number, kinship(person, o, rng), "cadre_official"
            )
        if self.heads and (rng.random() < self.p_head or i in (2, 3)):
            h = rng.choice(self.heads)
            self.relations.add(person.id_number, h.id_number, kinship(person, h, rng), "cadre_head")

    def write(self, writer: csv.writer, n: int) -> int:  # type: ignore[valid-type]
        rng = self.rng
        # in a huge county, keep each official or head related to a couple of cadres at most
        self.p_official = min(d.CADRE_RELATED_TO_OFFICIAL, len(self.officials) / max(n, 1) / 2)
        self.p_head = min(d.CADRE_RELATED_TO_HEAD, len(self.heads) / max(n, 1) / 2)
        i = 0
        while i < n:
            if i + 1 < n and rng.random() < d.CADRE_COUPLE / 2:
                age = int(rng.triangular(26, 56, 40))
                a, pa = self._one(i, male=True, age=age)
                b, pb = self._one(i + 1, male=False, age=max(23, age - rng.randint(0, 4)))
                a[SPOUSE], b[SPOUSE] = b[0], a[0]
                writer.writerow(a)
                writer.writerow(b)
                self.relations.add(pa.id_number, pb.id_number, "spouse", "cadre_spouse")
                self._conflicts(i, pa)
                self._conflicts(i + 1, pb)
                self.couples += 1
                i += 2
                continue
            row, p = self._one(i)
            writer.writerow(row)
            self._conflicts(i, p)
            i += 1
        return n
