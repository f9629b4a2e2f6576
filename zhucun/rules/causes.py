"""Causes of poverty (致贫原因): exactly one main cause (A3a) and at most two other causes
(A3b), distinct, from the national list, each backed by the indicator that triggered it.

Each cause has a severity in (0, 1] computed from the household's indicators; the main cause
is the most severe, ties broken by the national list order (因病 first: illness is the
largest single cause, ≈42% of registered households in 2014). A household with no triggered
indicator gets `other` (其它) so that the mandatory main cause is always filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zhucun.models.enums import Cause

NATIONAL_ORDER: tuple[Cause, ...] = tuple(Cause)
MAX_OTHER_CAUSES = 2
RULE_VERSION = "causes-1"


@dataclass(frozen=True)
class Finding:
    cause: Cause
    severity: float
    indicator: str  # the indicator (column) that triggered it
    evidence: str  # a human-readable statement of the value against its threshold


@dataclass(frozen=True)
class CauseAssessment:
    main_cause: Cause
    other_causes: tuple[Cause, ...]
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    rule_version: str = RULE_VERSION


def _income_total(h: Mapping[str, Any]) -> float:
    return max(float(h["per_capita_income_yuan"]) * max(int(h["size"]), 1), 1.0)


def findings(h: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
    """Every cause the household's indicators trigger, with its severity and evidence.

    `h` is a mapping with the households.csv columns (a row, a dict, or an ORM row's
    `_mapping`)."""
    out: list[Finding] = []
    size = max(int(h["size"]), 1)
    income = _income_total(h)

    serious, chronic = int(h["serious_illness_members"]), int(h["chronic_illness_members"])
    med_share = float(h["medical_spending_yuan"]) / income
    if serious > 0:
        out.append(
            Finding(
                Cause.illness,
                min(1.0, 0.8 + 0.1 * serious),
                "serious_illness_members",
                f"{serious} member(s) with serious illness",
            )
        )
    elif chronic > 0 and med_share >= thresholds["medical_spending_share"]:
        out.append(
            Finding(
                Cause.illness,
                min(1.0, 0.5 + med_share / 2),
                "medical_spending_yuan",
                f"chronic illness; medical spending {med_share:.0%} of income",
            )
        )

    disabled = int(h["disabled_members"])
    if disabled > 0:
        out.append(
            Finding(
                Cause.disability,
                min(1.0, 0.6 + 0.15 * disabled),
                "disabled_members",
                f"{disabled} disabled member(s)",
            )
        )

    edu_share = float(h["education_spending_yuan"]) / income
    if int(h["students"]) > 0 and edu_share >= thresholds["education_spending_share"]:
        out.append(
            Finding(
                Cause.schooling,
                min(1.0, 0.4 + edu_share / 2),
                "education_spending_yuan",
                f"{h['students']} student(s); schooling {edu_share:.0%} of income",
            )
        )

    loss_share = float(h["disaster_loss_yuan"]) / income
    if loss_share >= thresholds["disaster_loss_share"]:
        out.append(
            Finding(
                Cause.disaster,
                min(1.0, 0.4 + loss_share / 2),
                "disaster_loss_yuan",
                f"disaster loss {loss_share:.0%} of income",
            )
        )

    land = h["land_mu"]
    land_pp = float(land) / size if land is not None else None  # None: not recorded
    if land_pp is not None and land_pp < thresholds["land_mu_per_person"]:
        out.append(Finding(Cause.land, 0.45, "land_mu", f"{land_pp:.2f} mu of farmland per person"))

    if not _truthy(h["safe_water_ok"]):
        out.append(Finding(Cause.water, 0.5, "safe_water_ok", "no safe drinking water"))

    labour, skilled = int(h["labour_count"]), int(h["skilled_labour"])
    if labour / size < thresholds["labour_ratio"]:
        out.append(
            Finding(
                Cause.labour,
                0.85 if labour == 0 else 0.55,
                "labour_count",
                f"{labour} labourer(s) in a household of {size}",
            )
        )
    if labour > 0 and skilled == 0:
        out.append(Finding(Cause.skills, 0.5, "skilled_labour", "no skilled labourer"))

    # 缺资金 is lack of capital, not lack of credit: credit access (评级授信) is what makes
    # microcredit possible as its remedy. The card's net business income (生产经营性收入 −
    # 生产经营性支出) below a share of income says the household cannot finance production;
    # a registry without the card keeps the contract's only proxy, no credit access.
    business = h.get("business_income_yuan")
    if labour > 0 and business is not None:
        net = float(business) - float(h.get("production_cost_yuan") or 0.0)
        biz_share = max(net, 0.0) / income
        if biz_share < thresholds["capital_business_income_share"]:
            out.append(
                Finding(
                    Cause.capital,
                    0.4,
                    "business_income_yuan",
                    f"net business income {biz_share:.0%} of income",
                )
            )
    elif labour > 0 and not _truthy(h["has_credit_access"]):
        out.append(Finding(Cause.capital, 0.4, "has_credit_access", "no access to credit"))

    if not _truthy(h["road_access"]):
        out.append(Finding(Cause.transport, 0.45, "road_access", "no road access"))

    if _truthy(h["low_motivation"]):
        out.append(
            Finding(
                Cause.motivation,
                0.35,
                "low_motivation",
                "assessed by the village as lacking own drive",
            )
        )
    return out


def _truthy(v: Any) -> bool:
    return bool(v) and v not in ("false", "0", "no", "否")


def _rank(f: Finding) -> tuple[float, int]:
    return (-f.severity, NATIONAL_ORDER.index(f.cause))


def assess(h: Mapping[str, Any], thresholds: Mapping[str, float]) -> CauseAssessment:
    """Main cause = the most severe finding; the next two (distinct) are the other causes."""
    found = sorted(findings(h, thresholds), key=_rank)
    if not found:
        return CauseAssessment(
            Cause.other, (), {"other": {"indicator": "none", "evidence": "no indicator triggered"}}
        )
    chosen = found[: 1 + MAX_OTHER_CAUSES]
    return CauseAssessment(
        main_cause=chosen[0].cause,
        other_causes=tuple(f.cause for f in chosen[1:]),
        evidence={
            f.cause.value: {
                "indicator": f.indicator,
                "evidence": f.evidence,
                "severity": round(f.severity, 3),
            }
            for f in chosen
        },
    )


def validate_override(main_cause: str, other_causes: list[str]) -> list[str]:
    """Problems with a team's override (A3a exactly one, A3b at most two, distinct, listed)."""
    problems: list[str] = []
    valid = {c.value for c in Cause}
    for c in [main_cause, *other_causes]:
        if c not in valid:
            problems.append(f"{c!r} is not a cause of the national list")
    if len(other_causes) > MAX_OTHER_CAUSES:
        problems.append(f"at most {MAX_OTHER_CAUSES} other causes (A3b), got {len(other_causes)}")
    if main_cause in other_causes:
        problems.append("the main cause may not also be an other cause")
    if len(set(other_causes)) != len(other_causes):
        problems.append("other causes must be distinct")
    return problems
