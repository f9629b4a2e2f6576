"""County exit check (贫困县退出, 三率一度): the four rates of a sample check and their limits.

The national rule (《关于建立贫困退出机制的意见》厅字〔2016〕16号; formulas as published in
国开办发〔2017〕56号): a poor county may exit when its 综合贫困发生率 is below 2% (3% in the
west), its 错退率 (wrongly exited persons ÷ sampled exited persons) and 漏评率 (missed persons ÷
sampled non-registered rural persons) are at most 2%, and its 群众认可度 (approving households
÷ surveyed households) is at least 90%. All four must pass. The limits are policy data
(`county_exit_thresholds`); this module only computes, so a county can see why it failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

RATES = ("incidence", "wrong_exit", "missed", "approval")
# rate → (policy field, how the rate compares with it): 低于 for incidence, ≤ / ≥ otherwise
LIMITS: dict[str, tuple[str, Literal["<", "<=", ">="]]] = {
    "incidence": ("max_incidence", "<"),
    "wrong_exit": ("max_wrong_exit", "<="),
    "missed": ("max_missed", "<="),
    "approval": ("min_approval", ">="),
}


class SampleCounts(BaseModel):
    """What the sample-check file counts (persons for the two samples, households for the
    survey), before any rate is taken."""

    model_config = ConfigDict(frozen=True)

    exited_persons: int = 0
    wrong_exit_persons: int = 0
    nonregistered_persons: int = 0
    missed_persons: int = 0
    surveyed_households: int = 0
    approving_households: int = 0


class RateCheck(BaseModel):
    """One of the four rates against its limit; `rate` is None when there was nothing to
    divide by (not sampled), which fails: a rate nobody measured proves nothing."""

    model_config = ConfigDict(frozen=True)

    name: str
    numerator: float
    denominator: float
    rate: float | None
    threshold: float
    comparison: Literal["<", "<=", ">="]
    passed: bool
    reason: str


class CountyExitCheck(BaseModel):
    """The four checks in the order of the rule, and whether the county passes them all."""

    model_config = ConfigDict(frozen=True)

    rates: list[RateCheck]
    passed: bool


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _check(
    name: str, numerator: float, denominator: float, thresholds: Mapping[str, float]
) -> RateCheck:
    key, op = LIMITS[name]
    if key not in thresholds:
        raise LookupError(f"no county exit threshold {key!r} in the policy")
    limit = float(thresholds[key])
    if denominator <= 0:
        return RateCheck(name=name, numerator=numerator, denominator=denominator, rate=None,
                         threshold=limit, comparison=op, passed=False,
                         reason="not sampled")  # fmt: skip
    rate = numerator / denominator
    passed = {"<": rate < limit, "<=": rate <= limit, ">=": rate >= limit}[op]
    word = "meets" if passed else "does not meet"
    return RateCheck(
        name=name,
        numerator=numerator,
        denominator=denominator,
        rate=rate,
        threshold=limit,
        comparison=op,
        passed=passed,
        reason=f"{_pct(rate)} {word} {op} {_pct(limit)}",
    )


def check_county_exit(
    counts: SampleCounts,
    poor_persons: float,
    rural_persons: float,
    thresholds: Mapping[str, float],
) -> CountyExitCheck:
    """The four rates from counts. Incidence is given as its two counts (poor persons still
    poor ÷ rural population) so that "no population known" is "not sampled" like the rest."""
    rates = [
        _check("incidence", poor_persons, rural_persons, thresholds),
        _check("wrong_exit", counts.wrong_exit_persons, counts.exited_persons, thresholds),
        _check("missed", counts.missed_persons, counts.nonregistered_persons, thresholds),
        _check("approval", counts.approving_households, counts.surveyed_households, thresholds),
    ]
    return CountyExitCheck(rates=rates, passed=all(r.passed for r in rates))
