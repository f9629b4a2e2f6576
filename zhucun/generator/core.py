"""`generate()`: a whole county folder in the input format of docs/data-format.md.

Order matters for streaming: villages and officials are small and kept in memory; households,
their members and surveys are written one village at a time (each village has its own random
streams, so the output is deterministic for a seed whatever the scale); village populations
are settled from the households drawn and written last; cadres are streamed after that.
Every file goes through `writers` (CSV in an encoding, or xlsx; households and members in
zhucun's layout or as the national person-level export).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from random import Random
from typing import Any

from zhucun.exchange.clues import CLUE_HEADER, CLUES_STEM
from zhucun.generator import distributions as d
from zhucun.generator.cadres import CADRE_HEADER, CadreStream, cadre_count
from zhucun.generator.card import CARD_HEADER, card_row
from zhucun.generator.geography import (
    INFRA,
    County,
    Village,
    allocate,
    build_villages,
    load_county,
    poverty_county_codes,
)
from zhucun.generator.households import (
    HOUSEHOLD_HEADER,
    SURVEY_HEADER,
    Context,
    b,
    cause_table,
    draw_indicators,
    survey_rows,
)
from zhucun.generator.members import (
    Counts,
    ethnicity_table,
    fit_health,
    head_age_for,
    members,
)
from zhucun.generator.names import (
    SURNAMES,
    SURNAMES_XIANGXI,
    IdAllocator,
    birth_date,
    person_name,
)
from zhucun.generator.officials import (
    OFFICIAL_HEADER,
    RELATION_HEADER,
    Official,
    Person,
    RelationWriter,
    build_officials,
    kinship,
)
from zhucun.generator.ordinary import clues_for, visitor_of, write_ordinary
from zhucun.generator.writers import (
    Format,
    HouseholdSink,
    NationalSink,
    Place,
    Table,
    ZhucunSink,
    open_table,
)
from zhucun.policy import default_policy

VILLAGE_HEADER = (
    "village_code",
    "name",
    "township_code",
    "township_name",
    "county_code",
    "county_name",
    "province",
    "region",
    "registered_poor",
    "population",
    "collective_income_yuan",
    *INFRA,
    "terrain",
    "distance_to_county_km",
    "main_industries",
)
FILES = (
    "villages.csv",
    "households.csv",
    "members.csv",
    "cadres.csv",
    "officials.csv",
    "relations.csv",
    "surveys.csv",
    f"{CLUES_STEM}.csv",
)
MEAN_POOR_HOUSEHOLD_SIZE = 3.1
FIRST_YEAR = 2014  # 建档立卡: the national registry starts in 2014
HEADS_KEPT = 5000  # poor heads of poor villages that cadres may be related to
# households.csv: the rules' inputs, then the card (建档立卡户信息)
FULL_HOUSEHOLD_HEADER = (*HOUSEHOLD_HEADER, *CARD_HEADER)
# the row's own columns that members decide or the card reads, by position in the tail
TAIL = HOUSEHOLD_HEADER[4:-1]


@dataclass
class Summary:
    county_code: str
    county_name: str
    province: str
    region: str
    year: int
    seed: int
    out_dir: str
    rows: dict[str, int] = field(default_factory=dict)
    townships: int = 0
    villages: int = 0
    poor_villages: int = 0
    registered_poor_households: int = 0
    edge_households: int = 0
    ordinary_households: int = 0
    clues: int = 0
    cadres_available: int = 0
    conflict_relations: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_household_count(villages: list[Village]) -> int:
    """The registered poor households a county of this size would have at its villages'
    target incidences: a few thousand for a county of 150-250 villages."""
    persons = sum(v.base_population * v.target_incidence for v in villages)
    return max(200, round(persons / MEAN_POOR_HOUSEHOLD_SIZE))


def generate(
    county_code: str,
    out_dir: Path | str,
    seed: int = 1,
    households: int | None = None,
    year: int = 2026,
    cadre_ratio: float = 1.0,
    *,
    ordinary: int | None = None,
    layout: str = "zhucun",
    xlsx: bool = False,
    encoding: str = "utf-8",
) -> Summary:
    """Write the input files of a realistic county into `out_dir`.

    `layout="national"` writes households and members as the national system's
    person-level export (家庭成员); `xlsx` a workbook per file instead of CSV, `encoding`
    the CSV's (utf-8, utf-8-sig, gb18030).

    `households` is the number of registered poor households (default: realistic for the
    county); edge households (边缘易致贫户) come on top, and `ordinary` never-registered
    rural households (default: a quarter of the poor households' number), with the
    monitoring clues (sector alerts, visit findings, self-reports) in `monitoring_clues`.
    Raises `UnknownCountyError` for a code outside the 832 poverty counties."""
    started = time.perf_counter()
    county = load_county(county_code)
    if not FIRST_YEAR <= year <= date.today().year + 15:
        # people are at least 20: a later year would give birth dates in the future
        raise ValueError(f"year {year} is outside {FIRST_YEAR}..{date.today().year + 15}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    policy = default_policy(year, county.region, county.province_code)
    ctx = Context(
        county.code,
        county.region,
        year,
        float(policy.poverty_line_yuan),
        float(policy.monitoring_threshold_yuan),
        dict(policy.cause_thresholds),
    )
    rng = Random(f"zhucun/{seed}/{county.code}/geography")
    townships, villages = build_villages(county, rng)
    if not villages:
        raise ValueError(f"county {county.code} has no townships in the reference data")
    surnames = SURNAMES_XIANGXI if county.code.startswith("4331") else SURNAMES
    for v in villages:
        v.surnames = tuple(rng.sample(surnames, 3))

    n_poor = default_household_count(villages) if households is None else max(0, households)
    poor_alloc = allocate(n_poor, [v.base_population * v.target_incidence for v in villages])
    n_edge = round(n_poor * d.EDGE_HOUSEHOLD_SHARE)
    edge_alloc = allocate(n_edge, [float(v.base_population) for v in villages])
    n_ordinary = (
        round(n_poor * d.ORDINARY_HOUSEHOLD_SHARE) if ordinary is None else max(0, ordinary)
    )
    ordinary_alloc = allocate(n_ordinary, [float(v.base_population) for v in villages])

    ids = IdAllocator()
    orng = Random(f"zhucun/{seed}/{county.code}/officials")
    officials = build_officials(orng, county, townships, villages, ids, year)

    summary = Summary(
        county.code,
        county.name,
        county.province,
        county.region,
        year,
        seed,
        str(out),
        townships=len(townships),
        villages=len(villages),
        poor_villages=sum(v.registered_poor for v in villages),
        registered_poor_households=n_poor,
        edge_households=n_edge,
        ordinary_households=n_ordinary,
    )
    fmt = Format(xlsx, encoding, layout)
    rows: dict[str, int] = {}
    sink: HouseholdSink = (
        NationalSink(out, fmt, year)
        if layout == "national"
        else ZhucunSink(out, fmt, FULL_HOUSEHOLD_HEADER)
    )
    sw = open_table(out, "surveys", SURVEY_HEADER, fmt)
    rw = open_table(out, "relations", RELATION_HEADER, fmt)
    qw = open_table(out, CLUES_STEM, CLUE_HEADER, fmt)
    relations = RelationWriter(rw)
    heads = _write_households(
        county, ctx, seed, villages, poor_alloc, edge_alloc, officials, ids, sink, sw, relations,
        qw,
    )  # fmt: skip
    write_ordinary(county, ctx, seed, villages, ordinary_alloc, officials, ids, sink, sw, qw)
    poor_officials = [o for v in villages if v.registered_poor for o in officials[v.code]]
    n_cadres = cadre_count(
        n_poor,
        summary.poor_villages,
        policy.helper_caseload_cap,
        policy.team_max_size,
        cadre_ratio,
    )
    crng = Random(f"zhucun/{seed}/{county.code}/cadres")
    cw = open_table(out, "cadres", CADRE_HEADER, fmt)
    stream = CadreStream(crng, county, year, villages, ids, relations, poor_officials, heads)
    stream.write(cw, n_cadres)
    summary.cadres_available = stream.available
    summary.conflict_relations = dict(sorted(relations.counts.items()))
    vw = open_table(out, "villages", VILLAGE_HEADER, fmt)
    _write_villages(vw, county, villages)
    ow = open_table(out, "officials", OFFICIAL_HEADER, fmt)
    for people in officials.values():
        for o in people:
            ow.write(o.row())
    tables: list[Table] = [vw, *sink.tables, cw, ow, rw, sw, qw]
    for t in tables:
        t.close()
        rows[t.name] = t.rows
    summary.rows = rows
    summary.clues = qw.rows
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def _write_households(
    county: County,
    ctx: Context,
    seed: int,
    villages: list[Village],
    poor_alloc: list[int],
    edge_alloc: list[int],
    officials: dict[str, list[Official]],
    ids: IdAllocator,
    sink: HouseholdSink,
    sw: Table,
    relations: RelationWriter,
    qw: Table,
) -> list[Person]:
    """Stream households and their surveys; return a sample of poor heads of poor villages for
    the cadre conflicts. Declared relations of heads are written as each head is drawn."""
    year = ctx.year
    dates = [f"{year + dy}-{m:02d}-{day:02d}" for dy, m, day in d.SURVEY_DATES]
    other_codes = [
        c for c in poverty_county_codes() if c[:2] == county.province_code and c != county.code
    ] or [county.code]
    reviewer_townships: set[str] = set()
    trng = Random(f"zhucun/{seed}/{county.code}/reviewers")
    for t_code in sorted({v.township.code for v in villages}):
        if trng.random() < d.REVIEWER_RELATED_TO_HEAD_TOWNSHIP or not reviewer_townships:
            reviewer_townships.add(t_code)
    kept: list[Person] = []
    seen = 0
    keep_rng = Random(f"zhucun/{seed}/{county.code}/kept-heads")
    nepotism_done = False
    ethnicities = ethnicity_table(county.code)
    north = not county.south
    for v, n_poor, n_edge in zip(villages, poor_alloc, edge_alloc, strict=True):
        vr = Random(f"zhucun/{seed}/{v.code}/households")
        # members and card from a stream of their own: the households' draws stay as they were
        mr = Random(f"zhucun/{seed}/{v.code}/members")
        # clues of the never-registered households, from a stream of their own
        cr = Random(f"zhucun/{seed}/{v.code}/clues")
        # 评级授信 (rated, credit line granted), from a stream of its own
        kr = Random(f"zhucun/{seed}/{v.code}/credit")
        visitor = visitor_of(officials[v.code])
        place = Place(county.name, v.township.name, v.name)
        causes = cause_table(v.infra["road_paved"], v.infra["safe_water"])
        v_officials = officials[v.code]
        related_at = -1  # 优亲厚友: one poor head related to an official of the village
        if n_poor and (
            vr.random() < d.OFFICIAL_RELATED_TO_HEAD_VILLAGE
            and v.registered_poor
            or not nepotism_done
        ):
            related_at = vr.randrange(n_poor)
            nepotism_done = True
        reviewer_at = -1
        if n_poor and v.township.code in reviewer_townships:
            reviewer_townships.discard(v.township.code)
            reviewer_at = vr.randrange(n_poor)
        previous: Person | None = None
        for i in range(n_poor + n_edge):
            poor = i < n_poor
            drawn, tail = draw_indicators(vr, ctx, causes, poor, kr)
            official = vr.choice(v_officials) if i == related_at else None
            if official is not None:
                sur = official.person.surname
                age = max(20, min(90, year - official.person.birth_year + vr.randint(-8, 8)))
            else:
                sur = vr.choice(v.surnames) if vr.random() < 0.6 else vr.choice(SURNAMES)
                age = drawn.head_age
            values = dict(zip(TAIL, tail, strict=True))
            counts = _counts(values)
            fit_health(counts, drawn.main_cause)
            age = head_age_for(counts, age)
            born = birth_date(vr, year - age)
            hid = f"H{v.code}{i + 1:05d}"
            id_number = ids.issue(county.code, born, drawn.male)
            name = person_name(vr, not drawn.male, sur)
            people = members(
                mr, year, county.code, counts, (name, id_number, age, drawn.male), ids, ethnicities
            )
            drawn.edu = counts.education_ok  # True where there is no room for a dropout
            _sync(tail, values, counts)
            card = card_row(mr, values, drawn.main_cause, people, year, north)
            row = [hid, v.code, name, id_number, *tail, born.year, *card]
            sink.household(place, FULL_HOUSEHOLD_HEADER, row, people)
            srows = survey_rows(vr, ctx, hid, drawn, poor, dates)
            for srow in srows:
                sw.write(srow)
            if not poor:  # 边缘易致贫户: the registered are followed by their helpers
                for clue in clues_for(
                    cr, hid, srows, year=year, visitor=visitor,
                    household_income=drawn.income * drawn.size, education_ok=drawn.edu,
                    education_yuan=int(values["education_spending_yuan"]),
                    no_labour=drawn.labour == 0,
                ):  # fmt: skip
                    qw.write(clue)
            head = Person(hid, name, id_number, born.year, drawn.male)
            if official is not None:
                relations.add(
                    official.person.id_number,
                    id_number,
                    kinship(official.person, head, vr),
                    "official_head",
                )
            if i == reviewer_at:
                reviewer = vr.choice(officials[v.township.code]).person
                relations.add(
                    reviewer.id_number, id_number, kinship(reviewer, head, vr), "reviewer_head"
                )
            if previous is not None and vr.random() < d.HEAD_SIBLING_IN_VILLAGE:
                relations.add(
                    previous.id_number, id_number, kinship(previous, head, vr), "head_head"
                )
            if vr.random() < d.RELATIVE_ELSEWHERE:
                elsewhere = ids.issue(
                    vr.choice(other_codes),
                    birth_date(vr, born.year + vr.randint(-6, 6)),
                    vr.random() < 0.5,
                )
                relations.add(elsewhere, id_number, "sibling", "relative_elsewhere")
            if poor:
                v.poor_persons += drawn.size
                if v.registered_poor:  # reservoir sample: any poor head equally likely
                    seen += 1
                    if len(kept) < HEADS_KEPT:
                        kept.append(head)
                    else:
                        j = keep_rng.randrange(seen)
                        if j < HEADS_KEPT:
                            kept[j] = head
            else:
                v.edge_persons += drawn.size
            previous = head
        v.poor_households, v.edge_households = n_poor, n_edge
    if not relations.counts.get("relative_elsewhere") and kept:
        h = kept[0]
        relations.add(
            ids.issue(other_codes[0], birth_date(trng, h.birth_year), True),
            h.id_number,
            "sibling",
            "relative_elsewhere",
        )
    return kept


def _counts(values: dict[str, object]) -> Counts:
    def n(column: str) -> int:
        return int(values[column])  # type: ignore[call-overload]

    return Counts(
        n("size"),
        n("labour_count"),
        n("skilled_labour"),
        n("chronic_illness_members"),
        n("serious_illness_members"),
        n("disabled_members"),
        n("students"),
        values["compulsory_education_ok"] == "true",
        values["basic_medical_ok"] == "true",
    )


def _sync(tail: list[object], values: dict[str, object], counts: Counts) -> None:
    """The row says what its members give (the health and skilled counts and the education
    guarantee `fit_health` and `members()` may have had to adjust)."""
    for column, value in (
        ("chronic_illness_members", counts.chronic),
        ("serious_illness_members", counts.serious),
        ("disabled_members", counts.disabled),
        ("skilled_labour", counts.skilled),
        ("compulsory_education_ok", b(counts.education_ok)),
    ):
        values[column] = tail[TAIL.index(column)] = value


def _write_villages(w: Table, county: County, villages: list[Village]) -> None:
    """Population follows the households drawn: poor persons / target incidence, never fewer
    people than the listed households hold."""
    lo = d.VILLAGE_POPULATION_CLIP[0]
    for v in villages:
        pop = round(v.poor_persons / v.target_incidence) if v.poor_persons else v.base_population
        listed = v.poor_persons + v.edge_persons + v.ordinary_persons
        pop = max(pop, lo, math.ceil(listed * 1.25))
        v.population = pop
        t = v.township
        w.write(
            [
                v.code,
                v.name,
                t.code,
                t.name,
                county.code,
                county.name,
                county.province,
                county.region,
                b(v.registered_poor),
                pop,
                v.collective_income,
                *(b(v.infra[k]) for k in INFRA),
                v.terrain,
                v.distance_km,
                ";".join(v.industries),
            ]
        )
