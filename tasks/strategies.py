"""Household strategies (一户一策): per household in care one `Strategy` with its
`StrategyMeasure` rows, drafted from the household's assessed causes by `rules.measures`.

A strategy in review is never touched; a returned one is redrafted (returned → draft,
version + 1); a draft is rewritten only when its measures changed (an override, a new
policy), so a re-run writes nothing. A final approved strategy (its publicity closed) whose
household changed so that the rules now answer differently gets a revision (动态调整): a new
current version, drafted, that goes through review while the approved one stays in force
(`models.lifecycle.Strategy`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from prefect import task
from sqlalchemy import delete, insert, select, text, update
from sqlmodel import Session
from zhucun.models import HouseholdAssessment, Strategy, StrategyMeasure
from zhucun.models.enums import StrategyStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks import strategies_sql
from zhucun.tasks.common import audit_many, chunk_audit
from zhucun.tasks.lifecycle_db import facts, in_care, load_households, policy_for
from zhucun.tasks.safety import guarded
from zhucun.tasks.sql import upsert

from zhucun.db import session_scope
from zhucun.rules import causes as cause_rules
from zhucun.rules import measures as measure_rules

ACTOR = "zhucun:draft_strategies"
REDRAFTABLE = (StrategyStatus.draft.value, StrategyStatus.returned.value)


def draft_chunk(
    session: Session,
    county: str,
    cycle_year: int,
    villages: Sequence[str],
    set_based: bool = True,
) -> dict[str, Any]:
    """Draft the chunk's strategies: set-based (`tasks.strategies_sql`) when every household
    in care is assessed, else (and with `set_based=False`, the reference) row by row."""
    policy = policy_for(session, county, cycle_year)
    if set_based and not strategies_sql.unassessed(session, villages, cycle_year):
        out = strategies_sql.draft_chunk_sql(session, county, cycle_year, villages, policy)
        audits = [dict(actor=ACTOR, **a) for a in out.pop("audits")]
        if any(a["action"] == "strategy_redrafted" for a in audits):
            check_transition("strategy", StrategyStatus.returned, StrategyStatus.draft)
        drafted = out.pop("drafted")
        if drafted:
            audits.append(
                _batch_audit(county, cycle_year, villages, out["households"], drafted, policy)
            )
        audit_many(session, audits)
        return out
    return _draft_rows(session, county, cycle_year, villages, policy)


def _batch_audit(
    county: str,
    cycle_year: int,
    villages: Sequence[str],
    households: int,
    drafted: Mapping[str, int],
    policy: Any,
) -> dict[str, Any]:
    """Drafts get one audit row per chunk: scope, counts and policy version (each drafted
    row carries its rule version through the policy it was drafted under)."""
    return chunk_audit(
        ACTOR,
        "strategies_drafted_batch",
        "strategy",
        county,
        cycle_year,
        villages,
        households=households,
        **dict(drafted),
        policy_version=policy.version,
    )


def _draft_rows(
    session: Session, county: str, cycle_year: int, villages: Sequence[str], policy: Any
) -> dict[str, Any]:
    """The per-row reference: load, run `rules.measures` per household, compare, write."""
    households = load_households(session, villages, in_care())
    ids = [h["household_id"] for h in households]
    if not ids:
        return {
            "households": 0,
            "written": 0,
            "kept_in_review": 0,
            "redrafted": 0,
            "revised": 0,
            "measures": {},
            "cost_yuan": 0.0,
        }
    causes = {
        r.household_id: (r.main_cause, list(r.other_causes))
        for r in session.execute(
            select(
                HouseholdAssessment.household_id,
                HouseholdAssessment.main_cause,
                HouseholdAssessment.other_causes,
            ).where(
                HouseholdAssessment.household_id.in_(ids),
                HouseholdAssessment.cycle_year == cycle_year,
            )
        )
    }
    existing = {
        r.household_id: r
        for r in session.execute(
            select(
                Strategy.id,
                Strategy.household_id,
                Strategy.status,
                Strategy.version,
                Strategy.approved_on,
                Strategy.supersedes,
            ).where(
                Strategy.household_id.in_(ids),
                Strategy.cycle_year == cycle_year,
                Strategy.is_current,
            )
        )
    }
    old_measures: dict[int, list[tuple[str, str, float]]] = defaultdict(list)
    sids = [r.id for r in existing.values()]
    if sids:
        for m in session.execute(
            select(
                StrategyMeasure.strategy_id,
                StrategyMeasure.measure,
                StrategyMeasure.answers_cause,
                StrategyMeasure.cost_yuan,
            )
            .where(StrategyMeasure.strategy_id.in_(sids))
            .order_by(StrategyMeasure.id)
        ):
            old_measures[m.strategy_id].append((m.measure, m.answers_cause, float(m.cost_yuan)))

    strategies, plans, audits = [], {}, []
    # Drafts get one audit row per chunk (scope, counts, policy version); a redraft is a
    # status change (returned → draft) and keeps its own row per strategy.
    drafted: Counter[str] = Counter()
    kept = redrafted = 0
    revised: list[int] = []  # the approved versions a revision now supersedes
    measure_counts: Counter[str] = Counter()
    total_cost = 0.0
    for h in households:
        hid = h["household_id"]
        if hid in causes:
            main, others = causes[hid]
        else:  # no assessment yet (the stage ran alone): draft from the rules' causes
            a = cause_rules.assess(h, policy.cause_thresholds)
            main, others = a.main_cause.value, [c.value for c in a.other_causes]
        old = existing.get(hid)
        if old is not None and old.status not in REDRAFTABLE and not _final(old):
            kept += 1
            continue
        choices = measure_rules.select_measures(facts(h), main, others, policy, cycle_year)
        cost = measure_rules.strategy_cost(choices)
        signature = [(c.measure.value, c.answers_cause, c.cost_yuan) for c in choices]
        if old is not None and _final(old) and old_measures.get(old.id) == signature:
            kept += 1  # approved and still what the rules answer
            continue
        measure_counts.update(c.measure.value for c in choices)
        total_cost += cost
        if (
            old is not None
            and old.status == StrategyStatus.draft
            and old_measures.get(old.id) == signature
        ):
            continue
        status, version, supersedes = StrategyStatus.draft.value, 1, None
        action = "strategy_drafted"
        if old is not None:
            version, supersedes = old.version, old.supersedes
            action = "strategy_updated"
            if old.status == StrategyStatus.returned:
                check_transition("strategy", old.status, StrategyStatus.draft)
                version, action = old.version + 1, "strategy_redrafted"
                redrafted += 1
            elif _final(old):
                version, supersedes = old.version + 1, old.id
                action = "strategy_revised"
                revised.append(old.id)
        strategies.append(
            dict(
                household_id=hid,
                village_code=h["village_code"],
                cycle_year=cycle_year,
                measures=[s[0] for s in signature],
                cost_yuan=cost,
                status=status,
                version=version,
                supersedes=supersedes,
            )
        )
        plans[hid] = choices
        if action not in ("strategy_redrafted", "strategy_revised"):  # counted per chunk
            drafted[action] += 1
            continue
        audits.append(
            dict(
                actor=ACTOR,
                action=action,
                entity="strategy",
                entity_id=f"{hid}/{cycle_year}",
                before=None
                if old is None
                else {
                    "status": old.status,
                    "version": old.version,
                    "measures": [m[0] for m in old_measures.get(old.id, [])],
                },
                after={
                    "status": status,
                    "version": version,
                    "measures": [s[0] for s in signature],
                    "cost_yuan": cost,
                },
            )
        )
    if strategies:
        if revised:  # the approved version stays in force, no longer the current one
            session.execute(
                update(Strategy).where(Strategy.id.in_(revised)).values(is_current=False)
            )
        upsert(
            session,
            Strategy,
            strategies,
            keys=("household_id", "cycle_year"),
            update=("village_code", "measures", "cost_yuan", "status", "version"),
            where=text("is_current"),
        )
        new_ids = dict(
            session.execute(
                select(Strategy.household_id, Strategy.id).where(
                    Strategy.household_id.in_(list(plans)),
                    Strategy.cycle_year == cycle_year,
                    Strategy.is_current,
                )
            ).all()
        )
        session.execute(
            delete(StrategyMeasure).where(StrategyMeasure.strategy_id.in_(list(new_ids.values())))
        )
        session.execute(  # Core on the table: no ORM bulk-insert bookkeeping per row
            insert(StrategyMeasure.__table__),
            [
                dict(
                    strategy_id=new_ids[hid],
                    measure=c.measure.value,
                    answers_cause=c.answers_cause,
                    cost_yuan=c.cost_yuan,
                    principal_yuan=c.principal_yuan,
                    provider=c.provider,
                    expected_effect=c.expected_effect,
                )
                for hid, choices in plans.items()
                for c in choices
            ],
        )
    if drafted:
        audits.append(_batch_audit(county, cycle_year, villages, len(households), drafted, policy))
    audit_many(session, audits)
    return {
        "households": len(households),
        "written": len(strategies),
        "kept_in_review": kept,
        "redrafted": redrafted,
        "revised": len(revised),
        "measures": dict(measure_counts),
        "cost_yuan": round(total_cost, 2),
    }


def _final(old: Any) -> bool:
    """An approved strategy whose publicity closed: what a changed household revises (one
    still in its window is left alone: an objection may yet send it back)."""
    return old.status == StrategyStatus.approved and old.approved_on is not None


@task(
    name="draft-strategies",
    task_run_name="strategies-{county}-{cycle_year}-{chunk_no}",
    retries=1,
    retry_delay_seconds=2,
)
@guarded
def draft_strategies_task(
    county: str, cycle_year: int, villages: list[str], chunk_no: int = 0
) -> dict[str, Any]:
    with session_scope() as session:
        return draft_chunk(session, county, cycle_year, villages)
