"""Cause assessment: per household in care one `HouseholdAssessment` from
`rules.causes.assess`, and the team's recorded override path.

An override (source `override`) is never overwritten by a re-run: the team knows the
household; the rules only draft."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from prefect import task
from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import HelperAssignment, Household, HouseholdAssessment, Team, TeamMember
from zhucun.models.enums import AssessmentSource
from zhucun.tasks import causes_sql
from zhucun.tasks.common import audit_many, chunk_audit
from zhucun.tasks.lifecycle_db import in_care, load_households, policy_for
from zhucun.tasks.safety import guarded
from zhucun.tasks.sql import upsert

from zhucun.db import session_scope
from zhucun.rules import causes as cause_rules
from zhucun.rules.quality import cause_conflict, cause_conflicts

ACTOR = "zhucun:assess_causes"


def rule_version(policy_version: str) -> str:
    """The rules' version and the policy's, so an auditor can replay the decision."""
    return f"{cause_rules.RULE_VERSION}+{policy_version}"


def assess_chunk(
    session: Session, county: str, cycle_year: int, villages: Sequence[str]
) -> dict[str, Any]:
    """The chunk's assessments: set-based on SQLite (tasks.causes_sql), per row through
    `rules.causes.assess` elsewhere."""
    policy = policy_for(session, county, cycle_year)
    if causes_sql.supported(session):
        return assess_chunk_sql(session, county, cycle_year, villages, policy)
    version = rule_version(policy.version)
    households = load_households(session, villages, in_care())
    ids = [h["household_id"] for h in households]
    existing = (
        {
            r.household_id: r
            for r in session.execute(
                select(
                    HouseholdAssessment.household_id,
                    HouseholdAssessment.main_cause,
                    HouseholdAssessment.other_causes,
                    HouseholdAssessment.evidence,
                    HouseholdAssessment.source,
                    HouseholdAssessment.rule_version,
                ).where(
                    HouseholdAssessment.household_id.in_(ids),
                    HouseholdAssessment.cycle_year == cycle_year,
                )
            )
        }
        if ids
        else {}
    )
    rows: list[dict[str, Any]] = []
    main_counts: Counter[str] = Counter()
    other_counts: Counter[str] = Counter()
    overrides_kept = 0
    for h in households:
        hid = h["household_id"]
        old = existing.get(hid)
        if old is not None and old.source == AssessmentSource.override:
            overrides_kept += 1
            main_counts[old.main_cause] += 1
            other_counts.update(old.other_causes)
            continue
        a = cause_rules.assess(h, policy.cause_thresholds)
        new = dict(
            main_cause=a.main_cause.value,
            other_causes=[c.value for c in a.other_causes],
            evidence=a.evidence,
            rule_version=version,
        )
        main_counts[new["main_cause"]] += 1
        other_counts.update(new["other_causes"])
        if old is not None and (
            old.main_cause,
            list(old.other_causes),
            old.evidence,
            old.rule_version,
        ) == (new["main_cause"], new["other_causes"], new["evidence"], version):
            continue
        rows.append(
            dict(
                household_id=hid,
                village_code=h["village_code"],
                cycle_year=cycle_year,
                source=AssessmentSource.rule.value,
                override_reason=None,
                overridden_by=None,
                **new,
            )
        )
    upsert(session, HouseholdAssessment, rows, keys=("household_id", "cycle_year"))
    if rows:  # rule drafts: one audit row for the batch, as the set-based path writes
        audit_many(
            session,
            [batch_audit(county, cycle_year, villages, len(households), len(rows), policy)],
        )
    return {
        "households": len(households),
        "written": len(rows),
        "overrides_kept": overrides_kept,
        "main": dict(main_counts),
        "other": dict(other_counts),
    }


def batch_audit(
    county: str,
    cycle_year: int,
    villages: Sequence[str],
    households: int,
    written: int,
    policy: Any,
) -> dict[str, Any]:
    """The audit row of a chunk's rule-drafted assessments (each row carries its rule
    version; an override keeps its own audit row per household)."""
    return chunk_audit(
        ACTOR,
        "causes_assessed_batch",
        "household_assessment",
        county,
        cycle_year,
        villages,
        households=households,
        written=written,
        rule_version=rule_version(policy.version),
        policy_version=policy.version,
    )


def assess_chunk_sql(
    session: Session, county: str, cycle_year: int, villages: Sequence[str], policy: Any
) -> dict[str, Any]:
    """One statement writes what changed; one audit row for the batch (drafts: each row
    carries its rule version; overrides keep their own audit row per household)."""
    version = rule_version(policy.version)
    thresholds = dict(policy.cause_thresholds)
    written = causes_sql.upsert_assessments(session, villages, cycle_year, thresholds, version)
    n, main, other, overrides = causes_sql.chunk_counts(session, villages, cycle_year, thresholds)
    if written:
        audit_many(session, [batch_audit(county, cycle_year, villages, n, written, policy)])
    return {
        "households": n,
        "written": written,
        "overrides_kept": overrides,
        "main": main,
        "other": other,
    }


@task(
    name="assess-causes",
    task_run_name="causes-{county}-{cycle_year}-{chunk_no}",
    retries=1,
    retry_delay_seconds=2,
)
@guarded
def assess_causes_task(
    county: str, cycle_year: int, villages: list[str], chunk_no: int = 0
) -> dict[str, Any]:
    with session_scope() as session:
        return assess_chunk(session, county, cycle_year, villages)


class OverrideRefused(ValueError):
    """An override that breaks a registry rule or comes from someone who may not make it."""


def record_override(
    session: Session,
    *,
    household_id: str,
    cycle_year: int,
    main_cause: str,
    other_causes: list[str],
    reason: str,
    by: str,
    force: bool = False,
) -> dict[str, Any]:
    """Record a team's override of a household's causes (source `override`, reason, who) with
    an audit row. Only a member of the village's active team, or the household's designated
    helper for the cycle, may override. Causes that contradict the household's own data
    (data-quality rule `cause-vs-data`: 因病 with nobody ill…) are refused unless `force`:
    then the team's word is kept and its evidence and audit say it went against the data,
    so the data-quality check keeps showing the household until its card is corrected.
    The caller commits."""
    problems = cause_rules.validate_override(main_cause, other_causes)
    if not reason.strip():
        problems.append("a reason is required")
    if problems:
        raise OverrideRefused("; ".join(problems))
    hh = session.get(Household, household_id)
    if hh is None:
        raise OverrideRefused(f"household {household_id} is not in the registry")
    member = session.execute(
        select(TeamMember.cadre_id)
        .join(Team, Team.team_id == TeamMember.team_id)
        .where(
            Team.village_code == hh.village_code,
            Team.status == "active",
            TeamMember.active.is_(True),
            TeamMember.cadre_id == by,
        )
    ).first()
    helper = session.execute(
        select(HelperAssignment.id).where(
            HelperAssignment.household_id == household_id,
            HelperAssignment.cycle_year == cycle_year,
            HelperAssignment.cadre_id == by,
        )
    ).first()
    if member is None and helper is None:
        raise OverrideRefused(
            f"{by} is neither a member of the active team of village {hh.village_code} nor "
            f"the household's helper in {cycle_year}"
        )
    household = hh.model_dump()
    against_data = cause_conflicts(household, [main_cause, *other_causes])
    if against_data and not force:
        raise OverrideRefused(
            "; ".join(against_data) + " (correct the household's data, or --force with a reason)"
        )
    old = session.execute(
        select(
            HouseholdAssessment.main_cause,
            HouseholdAssessment.other_causes,
            HouseholdAssessment.source,
        ).where(
            HouseholdAssessment.household_id == household_id,
            HouseholdAssessment.cycle_year == cycle_year,
        )
    ).first()
    policy = policy_for(session, hh.village_code[:6], cycle_year)
    evidence: dict[str, Any] = {}
    for c in [main_cause, *other_causes]:
        evidence[c] = {"indicator": "team_override", "evidence": reason, "by": by}
        if against_data and (conflict := cause_conflict(household, c)):
            evidence[c]["against_data"] = conflict  # forced: the team's word over the card
    row = dict(
        household_id=household_id,
        village_code=hh.village_code,
        cycle_year=cycle_year,
        main_cause=main_cause,
        other_causes=list(other_causes),
        evidence=evidence,
        source=AssessmentSource.override.value,
        rule_version=rule_version(policy.version),
        override_reason=reason,
        overridden_by=by,
    )
    upsert(session, HouseholdAssessment, [row], keys=("household_id", "cycle_year"))
    audit_many(
        session,
        [
            dict(
                actor=by,
                action="causes_overridden",
                entity="household_assessment",
                entity_id=f"{household_id}/{cycle_year}",
                before=None
                if old is None
                else {
                    "main_cause": old.main_cause,
                    "other_causes": list(old.other_causes),
                    "source": old.source,
                },
                after={
                    "main_cause": main_cause,
                    "other_causes": list(other_causes),
                    "source": "override",
                    "reason": reason,
                    **({"against_data": against_data} if against_data else {}),
                },
            )
        ],
    )
    return {
        "household_id": household_id,
        "cycle_year": cycle_year,
        "main_cause": main_cause,
        "other_causes": list(other_causes),
        "by": by,
        "against_data": against_data,
    }
