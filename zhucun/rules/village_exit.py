"""Village exit review (贫困村退出): the rule behind the `village_exit_review` flow.

The national rule (厅字〔2016〕16号, domain-rules §4.3) is that a poor village may exit when
its poverty incidence (贫困发生率) is *below* 2% (3% in the western region); infrastructure,
public services, industry and collective income are "also considered"; the procedure is
乡镇内公示无异议后，公告退出 — publicity within the township, then the announcement.
Numbers come from `Policy` (village_exit_max_incidence, publicity_days).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from zhucun.policy import Policy
from zhucun.rules.village import gaps


class VillageExitReview(BaseModel):
    """What the review found, as plain data (for the audit row and the artifact)."""

    model_config = ConfigDict(frozen=True)

    village_code: str
    period: str
    incidence: float
    threshold: float
    eligible: bool
    next_step: str  # open_publicity / remain_poor
    publicity_days: int
    gaps: list[str]
    reason: str


def review_village_exit(
    village_code: str,
    period: str,
    incidence: float,
    policy: Policy,
    village: Mapping[str, Any] | None = None,
) -> VillageExitReview:
    """Re-check the incidence against the threshold in force (strictly below, as the rule
    says "低于"); list the gaps that the township should also weigh; say what happens next."""
    threshold = policy.village_exit_max_incidence
    eligible = incidence < threshold
    village_gaps = [str(g) for g in gaps(village)] if village is not None else []
    pct, lim = f"{incidence * 100:.2f}%", f"{threshold * 100:.0f}%"
    if eligible:
        reason = (
            f"incidence {pct} < threshold {lim}; publicity to open in township for "
            f"{policy.publicity_days} days, then announcement of exit"
        )
    else:
        reason = f"incidence {pct} is not below the threshold {lim}; the village remains poor"
    return VillageExitReview(
        village_code=village_code,
        period=period,
        incidence=incidence,
        threshold=threshold,
        eligible=eligible,
        next_step="open_publicity" if eligible else "remain_poor",
        publicity_days=policy.publicity_days,
        gaps=village_gaps,
        reason=reason,
    )
