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

from models.policy import PolicyValue


class ReviewStageRule(BaseModel):
    stage: str
    roles: list[str]
    approvers: int = 1


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
    monitoring_min_months: int
    monitoring_min_measures: int
    working_age: tuple[int, int]
    microcredit_max_yuan: float
    measure_unit_cost_yuan: dict[str, float]
    measure_provider: dict[str, str]
    cause_measures: dict[str, list[str]]
    plan_item_cost_yuan: dict[str, float]
    sponsor_budget_yuan: dict[str, float]
    cause_thresholds: dict[str, float]


Row = tuple[str, int, str, Any]  # key, year_from, scope, value


@lru_cache(maxsize=1)
def default_rows() -> tuple[dict[str, Any], ...]:
    text = resources.files("zhucun.policy").joinpath("defaults.toml").read_text("utf-8")
    rows = tomllib.loads(text)["value"]
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
    """Pick, for each key, the row of the most specific scope, then the latest year_from."""
    best: dict[str, tuple[int, int, Any]] = {}
    for key, year_from, scope, value in rows:
        rank = _scope_rank(scope, region, province_code)
        if rank is None or year_from > year:
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
        raise LookupError(f"no policy value for {', '.join(missing)} in {year} ({region})")
    return Policy(
        year=year,
        region=region,
        province_code=province_code,
        version=f"policy-{version_year}",
        **values,
    )


_META = {"year", "region", "province_code", "version"}


def default_policy(
    year: int = 2026, region: str = "central", province_code: str | None = None
) -> Policy:
    rows = ((r["key"], r["year_from"], r["scope"], r["value"]) for r in default_rows())
    return resolve(rows, year, region, province_code)


def seed_policy(session: Session) -> int:
    """Insert the shipped default rows that the database lacks; never overwrite a county's
    own changes. Returns the number of rows added. The caller commits."""
    have = {
        (k, y, s)
        for k, y, s in session.exec(
            select(PolicyValue.key, PolicyValue.year_from, PolicyValue.scope)
        )
    }
    added = 0
    for r in default_rows():
        if (r["key"], r["year_from"], r["scope"]) in have:
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
        added += 1
    return added


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
