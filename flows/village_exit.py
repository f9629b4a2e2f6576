"""Village exit review: the target of the `zhucun.village.exit-eligible` automation.

An evaluation finds a village under the exit threshold and emits the event; this flow
re-checks the recorded `VillageStatus` against the policy in force (the event is a hint, the
database is the truth), records the outcome in the audit trail once, and leaves a markdown
artifact telling the township to open the publicity (乡镇内公示无异议后，公告退出).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from sqlalchemy import select
from zhucun.flows.common import artifact_key
from zhucun.flows.parameters import Period, VillageCode
from zhucun.models import AuditEvent, Township, Village, VillageStatus
from zhucun.tasks.common import audit, county_region
from zhucun.tasks.safety import guarded

from zhucun.db import session_scope
from zhucun.policy import load_policy
from zhucun.rules.village_exit import VillageExitReview, review_village_exit

AUDIT_ENTITY = "village_exit_review"


@task(name="review-village-exit")
@guarded
def review_exit(village_code: str, period: str) -> dict[str, Any]:
    """Load the village's status for the period, apply the rule, audit it once (a re-run
    with the same outcome appends nothing). Returns the review and the village's names."""
    with session_scope() as session:
        village = session.get(Village, village_code)
        if village is None:
            raise LookupError(f"village {village_code} is not in the database")
        incidence = session.scalar(
            select(VillageStatus.poverty_incidence).where(
                VillageStatus.village_code == village_code, VillageStatus.period == period
            )
        )
        if incidence is None:
            raise LookupError(
                f"no evaluation of village {village_code} for {period}: run evaluate-progress"
            )
        region, province = county_region(session, village.county_code)
        policy = load_policy(session, int(period[:4]), region, province)
        review = review_village_exit(
            village_code, period, float(incidence), policy, village.model_dump()
        )
        after = review.model_dump(mode="json") | {"policy_version": policy.version}
        entity_id = f"{village_code}:{period}"
        last = session.scalar(
            select(AuditEvent.after)
            .where(AuditEvent.entity == AUDIT_ENTITY, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        recorded = last != after
        if recorded:
            audit(
                session,
                actor="system:village-exit-review",
                action=review.next_step,
                entity=AUDIT_ENTITY,
                entity_id=entity_id,
                before=last,
                after=after,
            )
        opened = 0
        if review.eligible and village.exit_year is None:
            from zhucun.tasks.procedure_cases import open_cases
            from zhucun.tasks.review_lock import server_today

            # the village exit procedure (乡镇提出 → 公示 → 县审定 → 公告): a case, once
            opened = open_cases(
                session,
                "vexit",
                [dict(subject_id=village_code, village_code=village_code)],
                cycle_year=int(period[:4]),
                origin="incidence",
                policy=policy,
                today=server_today(),
            )
        township = session.get(Township, village.township_code)
        return {
            "vexit_opened": opened,
            "review": after,
            "village_name": village.name,
            "township_name": township.name if township else village.township_code,
            "county": village.county_code,
            "audit_recorded": recorded,
        }


def exit_review_markdown(review: VillageExitReview, village_name: str, township: str) -> str:
    """The artifact an operator reads: the figures, the rule, the next step (no personal data:
    a village-level aggregate only)."""
    pct, lim = f"{review.incidence * 100:.2f}%", f"{review.threshold * 100:.0f}%"
    if review.eligible:
        headline = (
            f"**village exit review: incidence {pct} < threshold {lim}; publicity to "
            f"open in township** {township} for {review.publicity_days} days"
        )
        step = (
            "Open the publicity (公示) in the township; with no objection at its end, "
            "announce the village's exit (公告退出)."
        )
    else:
        headline = (
            f"**village exit review: incidence {pct} is not below the threshold {lim}; "
            "the village remains poor**"
        )
        step = "No publicity: the event was stale or the evaluation changed since."
    gaps = ", ".join(review.gaps) if review.gaps else "none recorded"
    return "\n".join(
        [
            f"# Village exit review — {village_name} ({review.village_code}), {review.period}",
            "",
            headline,
            "",
            "| measure | value |",
            "|---|---|",
            f"| poverty incidence (贫困发生率) | {pct} |",
            f"| threshold in force | below {lim} |",
            f"| exit eligible | {'yes' if review.eligible else 'no'} |",
            f"| publicity days | {review.publicity_days} |",
            f"| gaps also weighed (infrastructure, services, collective income) | {gaps} |",
            "",
            f"Next step: {step}",
            "",
            "Rule: 厅字〔2016〕16号 — incidence below 2% (3% in the west); "
            "乡镇内公示无异议后，公告退出.",
        ]
    )


@flow(
    name="village-exit-review",
    flow_run_name="village-exit-review-{village_code}-{period}",
    log_prints=False,
)
def village_exit_review(village_code: VillageCode, period: Period) -> dict[str, Any]:
    """Re-check an exit-eligible village and open its township publicity.

    Args:
        village_code: The village, 12 digits (e.g. 522626101001).
        period: The evaluation period that found it eligible, YYYY-MM.
    """
    result = review_exit(village_code, period)
    review = VillageExitReview.model_validate(result["review"])
    create_markdown_artifact(
        key=artifact_key("village-exit-review", village_code, period),
        markdown=exit_review_markdown(review, result["village_name"], result["township_name"]),
        description=f"Village exit review {village_code} {period}",
    )
    get_run_logger().info(
        "village %s %s: %s (audit %s)",
        village_code,
        period,
        review.next_step,
        "recorded" if result["audit_recorded"] else "unchanged",
    )
    return {
        "village_code": village_code,
        "period": period,
        "eligible": review.eligible,
        "next_step": review.next_step,
        "audit_recorded": result["audit_recorded"],
    }
