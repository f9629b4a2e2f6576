"""The county, its townships and villages: real names and codes where the reference data has
them, synthetic but code-consistent villages elsewhere (NBS rule: a 村委会 has a village
number 200-399 after the 9-digit township code)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from random import Random

from zhucun.generator import distributions as d
from zhucun.generator.names import village_name

REGION_EN = {"东部": "east", "中部": "central", "西部": "west"}
INFRA = tuple(d.INFRASTRUCTURE)

# [GK] leading industries of poverty villages, by broad area.
INDUSTRIES_NORTH = (
    "玉米",
    "谷子",
    "马铃薯",
    "核桃",
    "苹果",
    "红枣",
    "板栗",
    "食用菌",
    "中药材",
    "养羊",
    "养牛",
    "光伏",
    "乡村旅游",
    "劳务输出",
    "杂粮",
)
INDUSTRIES_SOUTH = (
    "水稻",
    "茶叶",
    "柑橘",
    "猕猴桃",
    "油茶",
    "烤烟",
    "生猪",
    "黄牛",
    "中药材",
    "蔬菜",
    "食用菌",
    "竹木",
    "乡村旅游",
    "劳务输出",
    "黄金茶",
)
INDUSTRIES_WEST = (
    "马铃薯",
    "青稞",
    "牦牛",
    "藏羊",
    "花椒",
    "核桃",
    "中药材",
    "苹果",
    "枸杞",
    "肉牛",
    "光伏",
    "乡村旅游",
    "劳务输出",
    "玉米",
    "小杂粮",
)
# provinces (2-digit codes) north of the Qinling-Huai line among the 832 counties' provinces
NORTH_PROVINCES = frozenset(
    {"13", "14", "15", "21", "22", "23", "41", "61", "62", "63", "64", "65", "54"}
)


class UnknownCountyError(ValueError):
    """The code is not one of the 832 national poverty counties of the reference list."""


@dataclass(frozen=True)
class County:
    code: str
    name: str
    province: str
    province_code: str
    prefecture: str
    region: str  # east / central / west

    @property
    def south(self) -> bool:
        return self.province_code not in NORTH_PROVINCES


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    kind: str  # 镇 / 乡 / 街道 / 其它
    distance_km: float


@dataclass
class Village:
    code: str
    name: str
    township: Township
    registered_poor: bool
    terrain: str
    distance_km: float
    infra: dict[str, bool]
    collective_income: int
    industries: tuple[str, ...]
    target_incidence: float
    base_population: int
    # filled while households are generated
    poor_households: int = 0
    edge_households: int = 0
    poor_persons: int = 0
    edge_persons: int = 0
    ordinary_households: int = 0
    ordinary_persons: int = 0
    population: int = 0
    surnames: tuple[str, ...] = field(default=())


def _open(name: str) -> Iterator[dict[str, str]]:
    ref = resources.files("zhucun.reference_data").joinpath(name)
    with ref.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


@lru_cache(maxsize=1)
def _counties() -> dict[str, dict[str, str]]:
    return {r["county_code"]: r for r in _open("poverty_counties_832.csv")}


def poverty_county_codes() -> list[str]:
    return sorted(_counties())


def load_county(code: str) -> County:
    """The county of the 832 list with this 2023 code, or `UnknownCountyError`."""
    row = _counties().get(code.strip())
    if row is None:
        raise UnknownCountyError(
            f"county code {code!r} is not one of the 832 national poverty counties "
            "(国家级贫困县, 2023 NBS codes, e.g. 130624 阜平县, 433124 花垣县); "
            "see zhucun/reference_data/poverty_counties_832.csv"
        )
    return County(
        code=row["county_code"],
        name=row["county_name_2023"],
        province=row["province"],
        province_code=row["province_code"],
        prefecture=row["prefecture"],
        region=REGION_EN[row["region"]],
    )


def _township_kind(raw: str) -> str:
    if raw.startswith("镇"):
        return "镇"
    if raw.startswith("乡"):
        return "乡"
    if raw.startswith("街道"):
        return "街道"
    return "其它"


def load_townships(county: County, rng: Random) -> list[Township]:
    rows = [
        r for r in _open("poverty_county_townships_2023.csv") if r["county_code"] == county.code
    ]
    rows.sort(key=lambda r: r["township_code"])
    stem = county.name[:-1] if len(county.name) > 2 else county.name
    seat = next(
        (
            r["township_code"]
            for r in rows
            if r["township_name"].startswith(stem) or "城关" in r["township_name"]
        ),
        rows[0]["township_code"] if rows else "",
    )
    lo, hi = d.TOWNSHIP_DISTANCE_KM[county.region]
    out = []
    for r in rows:
        kind = _township_kind(r["township_type"])
        near = r["township_code"] == seat or kind == "街道"
        dist = rng.uniform(0.5, 6.0) if near else rng.uniform(lo, hi)
        out.append(Township(r["township_code"], r["township_name"], kind, round(dist, 1)))
    return out


def sample_villages(county_code: str) -> dict[str, list[tuple[str, str]]]:
    """Real 村委会 of the 2021 NBS sample, by township code: [(village_code, name)]."""
    out: dict[str, list[tuple[str, str]]] = {}
    for r in _open("villages_sample_2_counties_2021.csv"):
        if r["county_code"] != county_code or r["committee_type"] != "村委会":
            continue
        name = r["village_name"]
        for suffix in ("村民委员会", "村委会"):
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
        if not name.endswith("村"):
            name += "村"
        out.setdefault(r["township_code"], []).append((r["village_code"], name))
    return out


def _pick(rng: Random, weights: dict[str, float]) -> str:
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def build_villages(county: County, rng: Random) -> tuple[list[Township], list[Village]]:
    """Townships and villages with poor-village status, terrain, distance, infrastructure and
    a target poverty incidence; populations are settled once households are drawn.

    Only townships that get a village are returned: the exchange format knows a township
    only through villages.csv, so a township without villages (阜平's 经济开发区 in the real
    sample) could not be referred to by its officials."""
    townships = load_townships(county, rng)
    real = sample_villages(county.code)
    terrain_key = "plateau" if county.province_code in d.PLATEAU_PROVINCES else county.region
    terrain_w = d.TERRAIN_WEIGHTS[terrain_key]
    industries = (
        INDUSTRIES_WEST
        if county.region == "west" and not county.south
        else INDUSTRIES_SOUTH
        if county.south
        else INDUSTRIES_NORTH
    )
    drafts: list[tuple[str, str, Township, str, float]] = []
    for t in townships:
        if real:
            members = real.get(t.code, [])
        else:
            lo, hi, mode = d.VILLAGES_PER_TOWNSHIP[t.kind]
            n = round(rng.triangular(lo, hi, mode))
            taken: set[str] = set()
            members = [
                (f"{t.code}{200 + i:03d}", village_name(rng, county.south, taken)) for i in range(n)
            ]
        for code, name in members:
            terrain = _pick(rng, terrain_w)
            if t.kind == "街道" and terrain == "mountain":
                terrain = "hill"
            spread = 12.0 if terrain in ("mountain", "plateau") else 6.0
            dist = max(0.3, t.distance_km + rng.uniform(-0.3, 1.0) * spread)
            drafts.append((code, name, t, terrain, round(dist, 1)))

    # 一高一低一无: remote mountain villages are the likeliest to be registered poor
    share = rng.uniform(*d.POOR_VILLAGE_SHARE)
    max_dist = max((x[4] for x in drafts), default=1.0) or 1.0
    scores = []
    for i, (_, _, t, terrain, dist) in enumerate(drafts):
        s = dist / max_dist + (0.35 if terrain in ("mountain", "plateau") else 0.0)
        s += -0.5 if t.kind == "街道" else 0.0
        scores.append((s + rng.uniform(0.0, 0.6), i))
    n_poor = round(share * len(drafts))
    poor_idx = {i for _, i in sorted(scores, reverse=True)[:n_poor]}

    villages: list[Village] = []
    for i, (code, name, t, terrain, dist) in enumerate(drafts):
        poor = i in poor_idx
        k = 0 if poor else 1
        infra = {key: rng.random() < d.INFRASTRUCTURE[key][k] for key in INFRA}
        if poor:
            collective = 0 if rng.random() < 0.65 else round(rng.uniform(2_000, 50_000), -2)
        else:
            collective = round(min(2_000_000, rng.lognormvariate(math.log(80_000), 0.8)), -2)
        n_ind = rng.choice((0, 1, 1, 2, 2, 3)) if poor else rng.choice((1, 2, 2, 3))
        inds = tuple(rng.sample(industries, n_ind))
        if poor:
            if rng.random() < d.NEAR_EXIT_VILLAGE_SHARE:
                line = 0.03 if county.region == "west" else 0.02
                inc = rng.uniform(line - 0.007, line + 0.007)
            else:
                inc = rng.triangular(*d.POOR_VILLAGE_INCIDENCE, 0.14)
        else:
            inc = rng.triangular(*d.OTHER_VILLAGE_INCIDENCE, 0.025)
        lo, hi = d.VILLAGE_POPULATION_CLIP
        pop = int(
            min(
                hi,
                max(
                    lo,
                    rng.lognormvariate(
                        math.log(d.VILLAGE_POPULATION_MEDIAN), d.VILLAGE_POPULATION_SIGMA
                    ),
                ),
            )
        )
        villages.append(
            Village(code, name, t, poor, terrain, dist, infra, int(collective), inds, inc, pop)
        )
    used = {v.township.code for v in villages}
    return [t for t in townships if t.code in used], villages


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder, stable)."""
    s = sum(weights)
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[:rest]:
        out[i] += 1
    return out
