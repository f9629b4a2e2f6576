"""Policy data, resolved for one year and one place into a typed `Policy`.

Rules never hold numbers; they take a `Policy`. The resolution (most specific scope, then
latest `year_from` not after the year) is the same for the shipped defaults and for the
rows in the database, so a test can use `default_policy()` and a flow `load_policy()`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, select

from zhucun.models.policy import PolicyValue


class ReviewStageRule(BaseModel):
    """One stage of a review or a procedure. `kind` says who moves it on: `decide` (people
    holding `roles`, `approvers` of them), `appraisal` (民主评议: a tally of the village
    representatives, recorded by `roles`, needs `quorum` of them present and a majority),
    `acknowledge` (户认可: a member of the household, recorded by `roles`), `publicity`
    (公示 for `days`: nobody decides; the window closes it or an objection sends it back),
    `crosscheck` (数据比对 against sector findings: automatic), `announce` (公告: the status
    changes here and nowhere earlier)."""

    stage: str
    roles: list[str] = []
    approvers: int = 1
    kind: str = "decide"
    days: int | None = None
    quorum: float | None = None
    zh: str = ""


class Policy(BaseModel):
    """The effective policy for one cycle year and one place."""

    model_config = ConfigDict(frozen=True)

    year: int
    region: str
    province_code: str | None = None
    version: str

    poverty_line_yuan: float
    monitoring_threshold_yuan: float
    monitoring_income_multiple: float
    village_exit_max_incidence: float
    safe_housing_grades: list[str]
    team_min_size: int
    team_max_size: int
    team_term_years: int
    first_secretary_min_party_years: int
    first_secretary_min_work_years: int
    helper_caseload_cap: int
    # poor persons from which a village's team has team_max_size members (None: never)
    team_full_size_poor_persons: int | None = None
    near_relations: list[str]
    publicity_days: int
    monitoring_publicity_days: int
    review_deadline_days: int
    review_stages_strategy: list[ReviewStageRule]
    review_stages_plan: list[ReviewStageRule]
    # procedures on the same engine: identification (识别), household exit, village exit
    procedure_stages: dict[str, list[ReviewStageRule]] = {}
    # 防止返贫监测 on the same engine: identification of a monitoring object, 风险消除 (a key
    # of its own so that `db upgrade` seeds it into a database seeded before it existed)
    monitoring_procedure_stages: dict[str, list[ReviewStageRule]] = {}
    crosscheck_exclusions: dict[str, dict[str, str]] = {}
    monitoring_min_months: int
    monitoring_min_measures: int
    # 防止返贫监测 (monitoring.toml): a province's own threshold on top of the national floor
    monitoring_province_threshold_yuan: float | None = None
    monitoring_income_months: int  # income counted over the months before the clue
    monitoring_clue_days: int  # a clue is decided (case or dismissed) within this many days
    monitoring_measure_months: int  # a development measure within this many months
    monitoring_stable_months: int  # income steadily above the threshold this long
    monitoring_development_measures: list[str]  # 开发式帮扶: measures that count as such
    monitoring_clue_deciders: list[str]  # roles that may dismiss a clue
    working_age: tuple[int, int]
    microcredit_max_yuan: float
    microcredit_term_years: int
    microcredit_subsidy_rate: float  # 贴息: interest the budget pays, per year of principal
    microcredit_risk_fund_share: float  # 风险补偿金: budget share per yuan lent
    social_security_without_labour: bool  # 兜底 also for a 一般 household without labour
    measure_not_started_days: int  # an approved measure not started after this is flagged
    exit_stable_surveys: int  # exit proposed only after this many surveys above the line
    measure_unit_cost_yuan: dict[str, float]
    measure_provider: dict[str, str]
    cause_measures: dict[str, list[str]]
    plan_item_cost_yuan: dict[str, float]
    sponsor_budget_yuan: dict[str, float]
    cause_thresholds: dict[str, float]
    # 贫困县退出 三率一度 (county_exit.toml): max_incidence, max_wrong_exit, max_missed,
    # min_approval
    county_exit_thresholds: dict[str, float] = {}


Row = tuple[str, int, str, Any]  # key, year_from, scope, value


@lru_cache(maxsize=1)
def default_rows() -> tuple[dict[str, Any], ...]:
    """Every `*.toml` of the package, in name order: one file per concern (defaults.toml,
    procedures.toml, monitoring.toml …), so a county's edits and reviews stay local."""
    files = sorted(
        (f for f in resources.files("zhucun.policy").iterdir() if f.name.endswith(".toml")),
        key=lambda f: f.name,
    )
    rows = [r for f in files for r in tomllib.loads(f.read_text("utf-8")).get("value", [])]
    return tuple({"scope": "*", "source": "", **r} for r in rows)


def _scope_rank(scope: str, region: str, province_code: str | None) -> int | None:
    if scope == "*":
        return 0
    if scope == region:
        return 1
    if province_code and scope == province_code:
        return 2
    return None


def resolve(
    rows: Iterable[Row], year: int, region: str, province_code: str | None = None
) -> Policy:
    """Pick, for each key, the row of the most specific scope, then the latest year_from.

    A key has no value in a year before its first row (there is no backward fill here: the
    shipped data backdates rules published after 2014 explicitly, as rows). Then the
    LookupError says, in one line, when the missing values start."""
    best: dict[str, tuple[int, int, Any]] = {}
    first: dict[str, int] = {}  # earliest year_from per key among the rows for this place
    for key, year_from, scope, value in rows:
        rank = _scope_rank(scope, region, province_code)
        if rank is None:
            continue
        first[key] = min(year_from, first.get(key, year_from))
        if year_from > year:
            continue
        cand = (rank, year_from, value)
        if key not in best or cand[:2] > best[key][:2]:
            best[key] = cand
    values = {k: v[2] for k, v in best.items()}
    if "monitoring_threshold_yuan" not in values and "poverty_line_yuan" in values:
        # Before 2021 there was no published threshold: the floor is 1.5x the line.
        values["monitoring_threshold_yuan"] = values["poverty_line_yuan"] * values.get(
            "monitoring_income_multiple", 1.5
        )
    values.setdefault("monitoring_income_multiple", 1.5)
    version_year = max((v[1] for v in best.values()), default=year)
    missing = [
        f
        for f, info in Policy.model_fields.items()
        if f not in values and f not in _META and info.is_required()
    ]
    if missing:
        raise LookupError(_missing_message(missing, first, year, region))
    return Policy(
        year=year,
        region=region,
        province_code=province_code,
        version=f"policy-{version_year}",
        **values,
    )


_META = {"year", "region", "province_code", "version"}


# values resolve() fills in years before their first row (from the line, or 1.5)
_FILLED = {"monitoring_threshold_yuan", "monitoring_income_multiple"}


def _missing_message(missing: list[str], first: dict[str, int], year: int, region: str) -> str:
    """One line, short enough for a terminal: from which year the data covers every value,
    when that is the problem; otherwise which values are missing."""
    needed = [k for k, info in Policy.model_fields.items() if info.is_required() and k not in _META]
    if all(k in first for k in needed if k not in _FILLED):
        start = max(first[k] for k in needed if k not in _FILLED)
        if year < start:
            return f"no policy for {year} ({region}): the policy data starts in {start}"
    names = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return f"no policy value for {names} in {year} ({region})"


def default_policy(
    year: int = 2026, region: str = "central", province_code: str | None = None
) -> Policy:
    rows = ((r["key"], r["year_from"], r["scope"], r["value"]) for r in default_rows())
    return resolve(rows, year, region, province_code)


def seed_policy(session: Session) -> int:
    """Insert the shipped default rows that the database lacks, and correct a row that still
    holds a value the shipped data has since corrected (listed in the row's `replaces`);
    never overwrite a county's own changes. Returns the rows added or corrected. The caller
    commits."""
    have = {(p.key, p.year_from, p.scope): p for p in session.exec(select(PolicyValue))}
    changed = 0
    for r in default_rows():
        row = have.get((r["key"], r["year_from"], r["scope"]))
        if row is not None:
            if row.value != r["value"] and row.value in r.get("replaces", []):
                row.value, row.source = r["value"], r["source"]
                session.add(row)
                changed += 1
            continue
        session.add(
            PolicyValue(
                key=r["key"],
                year_from=r["year_from"],
                scope=r["scope"],
                value=r["value"],
                source=r["source"],
            )
        )
        changed += 1
    return changed


def load_policy(
    session: Session, year: int, region: str, province_code: str | None = None
) -> Policy:
    """The effective policy from the database (seeded from the defaults by `db upgrade`)."""
    rows = session.exec(
        select(PolicyValue.key, PolicyValue.year_from, PolicyValue.scope, PolicyValue.value)
    ).all()
    if not rows:
        return default_policy(year, region, province_code)
    return resolve(rows, year, region, province_code)
