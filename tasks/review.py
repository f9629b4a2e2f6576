"""Review persistence: load what a batch of decisions needs, judge it with
`zhucun.rules.review`, and write the ledger, the status changes, escalations, publicity and
audit rows in bulk. Helpers take a `session` keyword and never commit; the Prefect tasks at
the bottom open one `session_scope()` each and return small summaries.

All three ways in (the UI form, the CLI, a decisions file) end in `decide()`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import and_, func, insert, or_, select, update
from sqlmodel import Session

from models import (
    Cadre,
    Decision,
    HelperAssignment,
    Household,
    Objection,
    Official,
    Plan,
    PlanItem,
    Publicity,
    Relation,
    ReviewEscalation,
    ReviewState,
    Strategy,
    Team,
    TeamMember,
    Village,
)
from tasks.common import audit_many, county_region, current_flow_run_id, now
from tasks.sql import insert_ignore, upsert
from zhucun.db import session_scope
from zhucun.policy import Policy, load_policy
from zhucun.rules import review as rules

Key = tuple[str, str]  # (subject, subject_id)
MODELS: dict[str, Any] = {"strategy": Strategy, "plan": Plan}
SUBJECT_KEY = {"strategy": Strategy.household_id, "plan": Plan.village_code}
FILE_COLUMNS = ("stage", "subject", "subject_id", "reviewer_id", "decision", "reason", "decided_on")


class ReviewError(ValueError):
    """A request that cannot be carried out (an objection out of its window, a bad file)."""


def policy_for(session: Session, county: str, year: int) -> Policy:
    region, province = county_region(session, county)
    return load_policy(session, year, region, province)


def _policy(session: Session, county: str | None, year: int) -> Policy:
    """The county's policy; the national defaults when no item (so no county) is known."""
    if county:
        return policy_for(session, county, year)
    from zhucun.policy import default_policy

    return default_policy(year)


def pending_statuses(subject: str) -> list[str]:
    return rules.status_chain(subject)[:-1]


# --- Loading ---------------------------------------------------------------------------------


def load_contexts(
    session: Session, villages: Iterable[str], policy: Policy, cycle_year: int | None = None
) -> dict[str, rules.VillageContext]:
    """Who may act for each village: its active team, its officials, its township's
    reviewers, its county's approvers, and the near relations among them and anyone.

    About a third of poor households live outside registered poor villages, where no team
    is posted: there the cycle's designated helpers (帮扶责任人) hold the `helper` role, which
    the policy lets sign the team stage of a household strategy."""
    villages = sorted(set(villages))
    if not villages:
        return {}
    roles: dict[str, dict[str, set[str]]] = {v: defaultdict(set) for v in villages}
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    officials: dict[str, dict[str, str]] = {v: {} for v in villages}
    for r in session.execute(
        select(Team.village_code, TeamMember.cadre_id, TeamMember.role, Cadre.id_number, Cadre.name)
        .join(TeamMember, TeamMember.team_id == Team.team_id)
        .join(Cadre, Cadre.cadre_id == TeamMember.cadre_id)
        .where(
            Team.village_code.in_(villages), Team.status == "active", TeamMember.active.is_(True)
        )
    ):
        roles[r.village_code][r.cadre_id].add(r.role)
        ids[r.cadre_id], names[r.cadre_id] = r.id_number, r.name
    if cycle_year is not None:
        teamless = [v for v in villages if not roles[v]]
        for part in range(0, len(teamless), 500):
            for r in session.execute(
                select(HelperAssignment.village_code, Cadre.cadre_id, Cadre.id_number, Cadre.name)
                .distinct()
                .join(Cadre, Cadre.cadre_id == HelperAssignment.cadre_id)
                .where(
                    HelperAssignment.cycle_year == cycle_year,
                    HelperAssignment.village_code.in_(teamless[part : part + 500]),
                )
            ):
                roles[r.village_code][r.cadre_id].add("helper")
                ids[r.cadre_id], names[r.cadre_id] = r.id_number, r.name
    townships = {v[:9] for v in villages}
    counties = {v[:6] for v in villages}
    for o in session.execute(
        select(
            Official.person_id,
            Official.level,
            Official.area_code,
            Official.role,
            Official.id_number,
            Official.name,
        ).where(
            or_(
                and_(Official.level == "village", Official.area_code.in_(villages)),
                and_(Official.level == "township", Official.area_code.in_(townships)),
                and_(Official.level == "county", Official.area_code.in_(counties)),
            )
        )
    ):
        ids[o.person_id], names[o.person_id] = o.id_number, o.name
        for v in villages:
            if (
                (o.level == "village" and o.area_code == v)
                or (o.level == "township" and o.area_code == v[:9])
                or (o.level == "county" and o.area_code == v[:6])
            ):
                roles[v][o.person_id].add(o.role)
                if o.level == "village":
                    officials[v][o.person_id] = o.id_number
    # Every conflict involves a reviewer or an official: load the relations touching them.
    people = sorted(set(ids.values()))
    relations: dict[frozenset[str], str] = {}
    near = set(policy.near_relations)
    for part in range(0, len(people), 500):
        chunk = people[part : part + 500]
        for r in session.execute(
            select(Relation.id_number_a, Relation.id_number_b, Relation.relation).where(
                or_(Relation.id_number_a.in_(chunk), Relation.id_number_b.in_(chunk))
            )
        ):
            if r.relation in near:
                relations[rules.pair(r.id_number_a, r.id_number_b)] = r.relation
    return {
        v: rules.VillageContext(
            village_code=v,
            roles={k: frozenset(s) for k, s in roles[v].items()},
            id_numbers=ids,
            relations=relations,
            officials=officials[v],
            names=names,
        )
        for v in villages
    }


def load_items(
    session: Session,
    cycle_year: int,
    *,
    villages: Sequence[str] | None = None,
    keys: Iterable[Key] | None = None,
) -> dict[Key, rules.Item]:
    """Strategies (with the head's ID number, for conflicts only) and plans of a cycle."""
    items: dict[Key, rules.Item] = {}
    wanted: dict[str, list[str]] = defaultdict(list)
    for subject, sid in keys or ():
        wanted[subject].append(sid)
    sstmt = (
        select(
            Strategy.household_id,
            Strategy.village_code,
            Strategy.status,
            Strategy.version,
            Household.head_id_number,
        )
        .join(Household, Household.household_id == Strategy.household_id)
        .where(Strategy.cycle_year == cycle_year)
    )
    pstmt = select(Plan.village_code, Plan.status, Plan.version).where(
        Plan.cycle_year == cycle_year
    )
    if villages is not None:
        sstmt = sstmt.where(Strategy.village_code.in_(villages))
        pstmt = pstmt.where(Plan.village_code.in_(villages))
    if keys is not None:
        sstmt = sstmt.where(Strategy.household_id.in_(wanted["strategy"]))
        pstmt = pstmt.where(Plan.village_code.in_(wanted["plan"]))
    for r in session.execute(sstmt):
        items[("strategy", r.household_id)] = rules.Item(
            "strategy",
            r.household_id,
            cycle_year,
            r.village_code,
            r.status,
            r.version,
            r.head_id_number,
        )
    for r in session.execute(pstmt):
        items[("plan", r.village_code)] = rules.Item(
            "plan", r.village_code, cycle_year, r.village_code, r.status, r.version
        )
    return items


def load_history(
    session: Session, cycle_year: int, villages: Sequence[str]
) -> dict[Key, list[rules.Past]]:
    out: dict[Key, list[rules.Past]] = defaultdict(list)
    for r in session.execute(
        select(
            Decision.subject,
            Decision.subject_id,
            Decision.reviewer_id,
            Decision.stage,
            Decision.version,
            Decision.decision,
        )
        .where(
            Decision.cycle_year == cycle_year,
            Decision.village_code.in_(villages),
            Decision.outcome == "accepted",
        )
        .order_by(Decision.decision_id)
    ):
        out[(r.subject, r.subject_id)].append(
            rules.Past(r.reviewer_id, r.stage, r.version, r.decision)
        )
    return out


def load_escalations(
    session: Session, cycle_year: int, villages: Sequence[str]
) -> dict[Key, dict[str, str]]:
    out: dict[Key, dict[str, str]] = defaultdict(dict)
    for r in session.execute(
        select(
            ReviewEscalation.subject,
            ReviewEscalation.subject_id,
            ReviewEscalation.stage,
            ReviewEscalation.level,
        ).where(
            ReviewEscalation.cycle_year == cycle_year,
            ReviewEscalation.village_code.in_(villages),
        )
    ):
        out[(r.subject, r.subject_id)][r.stage] = r.level
    return out


# --- Deciding ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    request: rules.Request
    verdict: rules.Verdict
    row: int | None = None  # line in a decisions file
    skipped: str | None = None  # e.g. "already applied" (idempotent file re-import)

    def summary(self) -> dict[str, Any]:
        r, v = self.request, self.verdict
        return dict(
            row=self.row,
            subject=r.subject,
            subject_id=r.subject_id,
            stage=r.stage,
            reviewer_id=r.reviewer_id,
            decision=r.decision,
            outcome="skipped" if self.skipped else ("accepted" if v.accepted else "refused"),
            refusal_reason=self.skipped or v.refusal,
            new_status=v.new_status,
            escalated_to=v.escalate[1] if v.escalate else None,
        )


@dataclass
class DecideResult:
    outcomes: list[Outcome] = field(default_factory=list)
    applied: bool = True

    @property
    def accepted(self) -> int:
        return sum(o.verdict.accepted and not o.skipped for o in self.outcomes)

    @property
    def refused(self) -> int:
        return sum(not o.verdict.accepted and not o.skipped for o in self.outcomes)

    def counts(self) -> dict[str, Any]:
        return dict(
            accepted=self.accepted,
            refused=self.refused,
            skipped=sum(bool(o.skipped) for o in self.outcomes),
            applied=self.applied,
            status_changes=sum(bool(o.verdict.new_status) for o in self.outcomes if not o.skipped),
            escalations=sum(bool(o.verdict.escalate) for o in self.outcomes),
        )


def _stage_order(policy: Policy, subject: str, stage: str) -> int:
    names = [s.stage for s in rules.stages_for(policy, subject)] if subject in MODELS else []
    return names.index(stage) if stage in names else 99


def decide(
    session: Session,
    requests: Sequence[rules.Request],
    *,
    cycle_year: int,
    channel: str,
    county: str | None = None,
    flow_run_id: str | None = None,
    received_at: datetime | None = None,
    today: date | None = None,
    all_or_nothing: bool = False,
    rows: Sequence[int] | None = None,
) -> DecideResult:
    """Judge `requests` in order (each sees the effect of the ones before it) and write the
    result: every accepted and refused decision as a ledger row, status changes with audit
    rows, escalations, publicity windows. With `all_or_nothing` (decisions files) nothing at
    all is written unless every request is accepted."""
    received_at = received_at or now()
    today = today or received_at.date()
    flow_run_id = flow_run_id if flow_run_id is not None else current_flow_run_id()
    result = DecideResult()
    if not requests:
        return result
    keys = {(r.subject, r.subject_id) for r in requests if r.subject in MODELS}
    items = load_items(session, cycle_year, keys=keys)
    if county:
        items = {k: i for k, i in items.items() if i.village_code.startswith(county)}
    villages = sorted({i.village_code for i in items.values()})
    policy = _policy(session, county or (villages[0][:6] if villages else None), cycle_year)
    contexts = load_contexts(session, villages, policy, cycle_year)
    history = load_history(session, cycle_year, villages)
    escalations = load_escalations(session, cycle_year, villages)
    full = rules.ladder(policy)
    new_escalations: dict[tuple[Key, str], tuple[str, str, str]] = {}

    for n, req in enumerate(requests):
        key = (req.subject, req.subject_id)
        item = items.get(key)
        ctx = contexts.get(item.village_code) if item else None
        esc = dict(escalations.get(key, {}))
        if item is not None and ctx is not None:
            for stage, (level, _why) in rules.standing_escalations(item, ctx, full).items():
                esc.setdefault(stage, level)
        verdict = rules.validate(
            req,
            item,
            ctx,
            policy=policy,
            history=history.get(key, ()),
            escalations=esc,
            today=today,
        )
        result.outcomes.append(Outcome(req, verdict, rows[n] if rows else None))
        if item is None:
            continue
        if verdict.escalate:
            stage, level, why = verdict.escalate
            escalations.setdefault(key, {})[stage] = level
            new_escalations[(key, stage)] = (item.village_code, level, why)
        if verdict.accepted:
            history.setdefault(key, []).append(
                rules.Past(req.reviewer_id, req.stage, item.version, req.decision)
            )
            if verdict.new_status:
                items[key] = replace(item, status=verdict.new_status)

    if all_or_nothing and result.refused:
        result.applied = False
        return result
    _write(
        session,
        result,
        items,
        new_escalations,
        policy=policy,
        cycle_year=cycle_year,
        channel=channel,
        flow_run_id=flow_run_id,
        received_at=received_at,
    )
    return result


def _write(
    session: Session,
    result: DecideResult,
    items: Mapping[Key, rules.Item],
    new_escalations: Mapping[tuple[Key, str], tuple[str, str, str]],
    *,
    policy: Policy,
    cycle_year: int,
    channel: str,
    flow_run_id: str | None,
    received_at: datetime,
) -> None:
    ledger, audit = [], []
    changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    publicity = []
    version_of: dict[Key, int] = {}
    for o in result.outcomes:
        r, v = o.request, o.verdict
        item = items.get((r.subject, r.subject_id))
        village = item.village_code if item else ""
        version = item.version if item else 0
        version_of[(r.subject, r.subject_id)] = version
        ledger.append(
            dict(
                stage=r.stage[:12],
                subject=r.subject[:10],
                subject_id=r.subject_id[:32],
                cycle_year=cycle_year,
                version=version,
                village_code=village,
                reviewer_id=r.reviewer_id[:32] or "?",
                decision=r.decision[:10],
                reason=r.reason,
                decided_on=r.decided_on,
                received_at=received_at,
                channel=channel,
                flow_run_id=flow_run_id,
                outcome="accepted" if v.accepted else "refused",
                refusal_reason=v.refusal,
            )
        )
        if v.accepted and v.new_status and item is not None:
            changes[r.subject].append(
                dict(
                    subject_id=r.subject_id,
                    status=v.new_status,
                    reason=r.reason if v.new_status == "returned" else None,
                )
            )
            audit.append(
                dict(
                    actor=f"reviewer:{r.reviewer_id}",
                    action=f"review.{r.decision}",
                    entity=r.subject,
                    entity_id=f"{r.subject_id}/{cycle_year}",
                    after={
                        "status": v.new_status,
                        "stage": r.stage,
                        "version": version,
                        "channel": channel,
                    },
                )
            )
            if v.final_approval:
                opens, closes = rules.publicity_window(r.decided_on, policy)
                publicity.append(
                    dict(
                        subject=r.subject,
                        subject_id=r.subject_id,
                        cycle_year=cycle_year,
                        version=version,
                        village_code=village,
                        opens_on=opens,
                        closes_on=closes,
                        status="open",
                    )
                )
    # The audit "before" of each change: the status it left, in decision order.
    first_status: dict[Key, str] = {}
    for o in result.outcomes:
        k = (o.request.subject, o.request.subject_id)
        if k not in first_status and k in items:
            first_status[k] = items[k].status
    if ledger:
        session.execute(insert(Decision), ledger)
    for subject, rows in changes.items():
        _set_status(session, subject, cycle_year, rows)
    if new_escalations:
        esc_rows = [
            dict(
                subject=k[0],
                subject_id=k[1],
                cycle_year=cycle_year,
                village_code=village,
                stage=stage,
                level=level,
                reason=why,
                at=received_at,
            )
            for (k, stage), (village, level, why) in new_escalations.items()
        ]
        insert_ignore(
            session, ReviewEscalation, esc_rows, ("subject", "subject_id", "cycle_year", "stage")
        )
        audit += [
            dict(
                actor="zhucun:review",
                action="review.escalated",
                entity=r["subject"],
                entity_id=f"{r['subject_id']}/{cycle_year}",
                after={"stage": r["stage"], "level": r["level"], "reason": r["reason"]},
            )
            for r in esc_rows
        ]
    if publicity:
        insert_ignore(
            session, Publicity, publicity, ("subject", "subject_id", "cycle_year", "version")
        )
        audit += [
            dict(
                actor="zhucun:review",
                action="publicity.opened",
                entity=p["subject"],
                entity_id=f"{p['subject_id']}/{cycle_year}",
                after={"opens_on": str(p["opens_on"]), "closes_on": str(p["closes_on"])},
            )
            for p in publicity
        ]
    audit_many(session, audit)
    touched = sorted({items[k].village_code for k in first_status})
    if touched:
        sync_states(session, cycle_year, touched, policy=policy, at=received_at)


def _set_status(
    session: Session, subject: str, cycle_year: int, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Bulk status updates, the last change of an item winning."""
    model = MODELS[subject]
    last = {r["subject_id"]: r for r in rows}
    by_status: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for sid, r in last.items():
        by_status[(r["status"], r["reason"])].append(sid)
    for (status, reason), sids in by_status.items():
        values: dict[str, Any] = {"status": status}
        if subject == "strategy" and status == "returned":
            values["return_reason"] = reason
        session.execute(
            update(model)
            .where(SUBJECT_KEY[subject].in_(sids), model.cycle_year == cycle_year)
            .values(**values)
        )
        if subject == "plan":
            plan_ids = select(Plan.id).where(
                Plan.village_code.in_(sids), Plan.cycle_year == cycle_year
            )
            session.execute(
                update(PlanItem).where(PlanItem.plan_id.in_(plan_ids)).values(status=status)
            )


# --- Stage clock and standing escalations -----------------------------------------------


def sync_states(
    session: Session,
    cycle_year: int,
    villages: Sequence[str],
    *,
    policy: Policy,
    at: datetime | None = None,
) -> dict[str, int]:
    """Bring `ReviewState` in line with the items' (status, version): an item whose status or
    version changed (a decision here, a redraft elsewhere) enters its stage now. Records the
    standing 优亲厚友 escalations of items entering review (once: unique key)."""
    at = at or now()
    items = load_items(session, cycle_year, villages=villages)
    states = {
        (r.subject, r.subject_id): (r.status, r.version)
        for r in session.execute(
            select(
                ReviewState.subject, ReviewState.subject_id, ReviewState.status, ReviewState.version
            ).where(ReviewState.cycle_year == cycle_year, ReviewState.village_code.in_(villages))
        )
    }
    changed = []
    for key, item in items.items():
        if states.get(key) == (item.status, item.version):
            continue
        stages = rules.stages_for(policy, item.subject)
        changed.append(
            dict(
                subject=item.subject,
                subject_id=item.subject_id,
                cycle_year=cycle_year,
                village_code=item.village_code,
                status=item.status,
                version=item.version,
                stage=rules.waiting_stage(item.subject, item.status, stages),
                entered_at=at,
            )
        )
    if changed:
        upsert(session, ReviewState, changed, ("subject", "subject_id", "cycle_year"))
    escalated = _record_standing(session, cycle_year, villages, items, policy=policy, at=at)
    return {"items": len(items), "entered_stage": len(changed), "escalated": escalated}


def _record_standing(
    session: Session,
    cycle_year: int,
    villages: Sequence[str],
    items: Mapping[Key, rules.Item],
    *,
    policy: Policy,
    at: datetime,
) -> int:
    pending = [
        i
        for i in items.values()
        if i.subject == "strategy" and i.status in pending_statuses("strategy")
    ]
    if not pending:
        return 0
    contexts = load_contexts(session, villages, policy, cycle_year)
    have = load_escalations(session, cycle_year, villages)
    full = rules.ladder(policy)
    rows = []
    for item in pending:
        for stage, (level, why) in rules.standing_escalations(
            item, contexts[item.village_code], full
        ).items():
            if have.get((item.subject, item.subject_id), {}).get(stage) == level:
                continue
            rows.append(
                dict(
                    subject=item.subject,
                    subject_id=item.subject_id,
                    cycle_year=cycle_year,
                    village_code=item.village_code,
                    stage=stage,
                    level=level,
                    reason=why,
                    at=at,
                )
            )
    if rows:
        upsert(session, ReviewEscalation, rows, ("subject", "subject_id", "cycle_year", "stage"))
        audit_many(
            session,
            [
                dict(
                    actor="zhucun:review",
                    action="review.escalated",
                    entity=r["subject"],
                    entity_id=f"{r['subject_id']}/{cycle_year}",
                    after={"stage": r["stage"], "level": r["level"], "reason": r["reason"]},
                )
                for r in rows
            ],
        )
    return len(rows)


# --- Pending work, forms ---------------------------------------------------------------------


def pending_groups(
    session: Session, cycle_year: int, villages: Sequence[str], *, policy: Policy
) -> list[dict[str, Any]]:
    """(village, stage) groups with items waiting, in village then stage order."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for subject, model in MODELS.items():
        stages = rules.stages_for(policy, subject)
        for r in session.execute(
            select(model.village_code, model.status, func.count())
            .where(
                model.cycle_year == cycle_year,
                model.village_code.in_(villages),
                model.status.in_(pending_statuses(subject)),
            )
            .group_by(model.village_code, model.status)
        ):
            stage = rules.waiting_stage(subject, r[1], stages)
            if stage:
                counts[(r[0], stage)][subject] += r[2]
    order = {s.stage: i for i, s in enumerate(rules.ladder(policy))}
    return [
        dict(village=v, stage=s, strategies=c.get("strategy", 0), plans=c.get("plan", 0))
        for (v, s), c in sorted(counts.items(), key=lambda x: (x[0][0], order.get(x[0][1], 9)))
    ]


def group_items(
    session: Session, cycle_year: int, village: str, stage: str, *, policy: Policy
) -> list[dict[str, Any]]:
    """The items of one village waiting for `stage`, with who decides each (escalations)."""
    items = load_items(session, cycle_year, villages=[village])
    ctx = load_contexts(session, [village], policy, cycle_year)[village]
    esc = load_escalations(session, cycle_year, [village])
    full = rules.ladder(policy)
    keys = [
        k
        for k, i in items.items()
        if rules.waiting_stage(i.subject, i.status, rules.stages_for(policy, i.subject)) == stage
    ]
    if not keys:
        return []
    names = dict(
        session.execute(
            select(Household.household_id, Household.head_name).where(
                Household.household_id.in_([k[1] for k in keys if k[0] == "strategy"])
            )
        ).all()
    )
    vname = session.scalar(select(Village.name).where(Village.village_code == village)) or ""
    detail = {
        r.household_id: (list(r.measures), float(r.cost_yuan))
        for r in session.execute(
            select(Strategy.household_id, Strategy.measures, Strategy.cost_yuan).where(
                Strategy.cycle_year == cycle_year, Strategy.village_code == village
            )
        )
    }
    plan_cost = (
        session.scalar(
            select(Plan.total_cost_yuan).where(
                Plan.cycle_year == cycle_year, Plan.village_code == village
            )
        )
        or 0.0
    )
    out = []
    for key in sorted(keys):
        item = items[key]
        e = dict(esc.get(key, {}))
        notes = []
        for st, (level, _why) in rules.standing_escalations(item, ctx, full).items():
            e.setdefault(st, level)
            if st == stage:
                notes.append("优亲厚友")
        level = e.get(stage, stage)
        if level != stage and not notes:
            notes.append("conflict")
        measures, cost = detail.get(key[1], ([], float(plan_cost)))
        out.append(
            dict(
                subject=item.subject,
                subject_id=item.subject_id,
                version=item.version,
                label=names.get(item.subject_id, vname) if item.subject == "strategy" else vname,
                measures=measures if item.subject == "strategy" else [],
                cost_yuan=cost,
                decider=level,
                roles=rules.level_roles(level, rules.stages_for(policy, item.subject), full),
                note=(f"escalated to {level} ({', '.join(notes)})" if level != stage else ""),
            )
        )
    return out


def last_refusals(
    session: Session, cycle_year: int, village: str, stage: str, limit: int = 10
) -> list[str]:
    """The refusals of the latest submission for this village and stage (shown on the form)."""
    latest = session.scalar(
        select(func.max(Decision.received_at)).where(
            Decision.cycle_year == cycle_year,
            Decision.village_code == village,
            Decision.stage == stage,
        )
    )
    if latest is None:
        return []
    rows = session.execute(
        select(Decision.subject_id, Decision.reviewer_id, Decision.refusal_reason)
        .where(
            Decision.cycle_year == cycle_year,
            Decision.village_code == village,
            Decision.stage == stage,
            Decision.received_at == latest,
            Decision.outcome == "refused",
        )
        .order_by(Decision.decision_id)
        .limit(limit)
    ).all()
    return [f"{r.subject_id} ({r.reviewer_id}): {r.refusal_reason}" for r in rows]


def decision_count(session: Session, cycle_year: int, county: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Decision)
            .where(Decision.cycle_year == cycle_year, Decision.village_code.like(f"{county}%"))
        )
        or 0
    )


def form_requests(
    session: Session,
    *,
    cycle_year: int,
    village: str,
    stage: str,
    reviewer_id: str,
    approve_all: bool,
    decisions: Sequence[Mapping[str, Any]],
    decided_on: date,
    policy: Policy,
) -> list[rules.Request]:
    """Turn a form (or `zhucun review decide`) into requests. Approve-all covers the items
    of this stage that the reviewer's level decides (items escalated to another level are
    left for it); if the reviewer decides none of them, all are requested, so each refusal
    is recorded. An empty form is refused for every item, never silently dropped."""
    items = group_items(session, cycle_year, village, stage, policy=policy)
    ctx = load_contexts(session, [village], policy, cycle_year)[village]
    held = ctx.roles.get(reviewer_id.strip(), frozenset())
    explicit = {
        str(d.get("subject_id", "")).strip(): d
        for d in decisions
        if str(d.get("subject_id", "")).strip()
    }
    subject_of = {i["subject_id"]: i["subject"] for i in items}

    def req(sid: str, decision: str, reason: str | None) -> rules.Request:
        return rules.Request(
            subject_of.get(sid, "strategy" if not sid.isdigit() else "plan"),
            sid,
            stage,
            reviewer_id.strip(),
            decision,
            reason,
            decided_on,
        )

    out: list[rules.Request] = []
    if approve_all:
        mine = [i for i in items if held & set(i["roles"])]
        for i in mine or items:
            if i["subject_id"] not in explicit:
                out.append(req(i["subject_id"], "approve", None))
    for sid, d in explicit.items():
        out.append(
            req(
                sid,
                str(d.get("decision", "")).strip(),
                (str(d.get("reason") or "").strip() or None),
            )
        )
    if not out:
        out = [
            req(i["subject_id"], "none", "no decision given: tick approve_all or list items")
            for i in items
        ]
    return out


# --- Decisions files ---------------------------------------------------------------------


@dataclass
class FileResult:
    errors: list[str] = field(default_factory=list)
    result: DecideResult | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def read_decisions_file(path: Path) -> tuple[list[rules.Request], list[int], list[str]]:
    """Parse decisions.csv (UTF-8, UTF-8 with BOM or GB18030, detected; or the first sheet
    of an .xlsx); errors as `file:row:column: rule`, never a traceback."""
    from zhucun.exchange.sources import SourceError, open_table

    name = path.name
    try:
        fh = open_table(path)
    except SourceError as exc:
        return [], [], [f"{name}:{exc.line}:*: {exc.rule}"]
    with fh:
        try:
            return _read_decisions(fh, fh.label)
        except SourceError as exc:  # a bad byte late in the file, a broken quote
            return [], [], [f"{fh.label}:{exc.line}:*: {exc.rule}"]


def _read_decisions(fh: Any, name: str) -> tuple[list[rules.Request], list[int], list[str]]:
    errors: list[str] = []
    requests: list[rules.Request] = []
    rows: list[int] = []
    header = fh.read_header() or []
    missing = [c for c in FILE_COLUMNS if c not in header]
    unknown = [c for c in header if c not in FILE_COLUMNS]
    errors += [f"{name}:1:{c}: missing column" for c in missing]
    errors += [f"{name}:1:{c}: unknown column" for c in unknown]
    if errors:
        return [], [], errors
    for line, cells in fh.rows():
        row = {k: (v or "").strip() for k, v in zip(header, cells, strict=False) if k}
        for c in ("stage", "subject", "subject_id", "reviewer_id", "decision", "decided_on"):
            if not row.get(c):
                errors.append(f"{name}:{line}:{c}: required")
        try:
            decided = date.fromisoformat(row.get("decided_on", ""))
        except ValueError:
            if row.get("decided_on"):
                errors.append(f"{name}:{line}:decided_on: not a date YYYY-MM-DD")
            continue
        requests.append(
            rules.Request(
                row["subject"],
                row["subject_id"],
                row["stage"],
                row["reviewer_id"],
                row["decision"],
                row.get("reason") or None,
                decided,
            )
        )
        rows.append(line)
    return requests, rows, errors


def apply_decisions_file(
    session: Session,
    path: Path,
    *,
    cycle_year: int,
    county: str | None = None,
    flow_run_id: str | None = None,
    received_at: datetime | None = None,
    today: date | None = None,
) -> FileResult:
    """All or nothing: every row judged exactly as a UI decision, in the order the minutes
    were taken (date, then stage); nothing is written unless all rows are accepted. A row
    that was already applied (same accepted decision in the ledger) is skipped, so a
    re-import of the same file changes nothing."""
    requests, rows, errors = read_decisions_file(path)
    if errors:
        return FileResult(errors)
    policy = policy_for(session, county, cycle_year) if county else None
    done = {
        (r.subject, r.subject_id, r.stage, r.reviewer_id, r.decision, r.decided_on)
        for r in session.execute(
            select(
                Decision.subject,
                Decision.subject_id,
                Decision.stage,
                Decision.reviewer_id,
                Decision.decision,
                Decision.decided_on,
            ).where(
                Decision.cycle_year == cycle_year,
                Decision.outcome == "accepted",
                Decision.channel == "file",
            )
        )
    }
    todo = [
        (r, n)
        for r, n in zip(requests, rows, strict=True)
        if (r.subject, r.subject_id, r.stage, r.reviewer_id, r.decision, r.decided_on) not in done
    ]
    policy = policy or _policy(session, None, cycle_year)
    todo.sort(key=lambda x: (x[0].decided_on, _stage_order(policy, x[0].subject, x[0].stage), x[1]))
    result = decide(
        session,
        [r for r, _ in todo],
        cycle_year=cycle_year,
        channel="file",
        county=county,
        flow_run_id=flow_run_id,
        received_at=received_at,
        today=today,
        all_or_nothing=True,
        rows=[n for _, n in todo],
    )
    result.outcomes += [
        Outcome(r, rules.Verdict(True), n, skipped="already applied")
        for r, n in zip(requests, rows, strict=True)
        if (r.subject, r.subject_id, r.stage, r.reviewer_id, r.decision, r.decided_on) in done
    ]
    for o in result.outcomes:
        if not o.verdict.accepted:
            errors.append(f"{path.name}:{o.row}:{o.verdict.column or '-'}: {o.verdict.refusal}")
    return FileResult(sorted(errors, key=_row_of), result)


def _row_of(error: str) -> int:
    try:
        return int(error.split(":")[1])
    except (IndexError, ValueError):
        return 0


# --- Publicity and objections --------------------------------------------------------------


def close_publicity(
    session: Session, *, today: date, county: str | None = None, at: datetime | None = None
) -> dict[str, int]:
    """Close the windows whose days have passed: the item is final (a strategy gets
    approved_by — the final approver — and approved_on — the day it became final)."""
    at = at or now()
    stmt = select(
        Publicity.id,
        Publicity.subject,
        Publicity.subject_id,
        Publicity.cycle_year,
        Publicity.version,
        Publicity.closes_on,
        Publicity.village_code,
    ).where(Publicity.status == "open", Publicity.closes_on <= today)
    if county:
        stmt = stmt.where(Publicity.village_code.like(f"{county}%"))
    due = session.execute(stmt).all()
    if not due:
        return {"closed": 0}
    session.execute(
        update(Publicity)
        .where(Publicity.id.in_([p.id for p in due]))
        .values(status="closed", closed_at=at)
    )
    strategies = [p for p in due if p.subject == "strategy"]
    if strategies:
        approver: dict[tuple[str, int, int], str] = {}
        for r in session.execute(
            select(Decision.subject_id, Decision.cycle_year, Decision.version, Decision.reviewer_id)
            .where(
                Decision.subject == "strategy",
                Decision.outcome == "accepted",
                Decision.decision == "approve",
                Decision.subject_id.in_([p.subject_id for p in strategies]),
            )
            .order_by(Decision.decision_id)
        ):
            approver[(r.subject_id, r.cycle_year, r.version)] = r.reviewer_id  # last wins
        session.execute(
            update(Strategy),
            [
                dict(
                    id=sid,
                    approved_by=approver.get((p.subject_id, p.cycle_year, p.version)),
                    approved_on=p.closes_on,
                )
                for p, sid in _strategy_ids(session, strategies)
            ],
        )
    audit_many(
        session,
        [
            dict(
                actor="zhucun:review",
                action="publicity.closed",
                entity=p.subject,
                entity_id=f"{p.subject_id}/{p.cycle_year}",
                after={"status": "final", "closes_on": str(p.closes_on)},
            )
            for p in due
        ],
    )
    return {"closed": len(due)}


def _strategy_ids(session: Session, pubs: Sequence[Any]) -> list[tuple[Any, int]]:
    ids = {
        (r.household_id, r.cycle_year): r.id
        for r in session.execute(
            select(Strategy.id, Strategy.household_id, Strategy.cycle_year).where(
                Strategy.household_id.in_([p.subject_id for p in pubs])
            )
        )
    }
    return [
        (p, ids[(p.subject_id, p.cycle_year)]) for p in pubs if (p.subject_id, p.cycle_year) in ids
    ]


def file_objection(
    session: Session,
    *,
    subject: str,
    subject_id: str,
    cycle_year: int,
    filed_by: str,
    reason: str,
    filed_on: date,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An objection in the publicity window returns the item for re-review (approved →
    returned, the objection as reason). Raises ReviewError when it cannot be heard."""
    at = at or now()
    pub = (
        session.execute(
            select(Publicity)
            .where(
                Publicity.subject == subject,
                Publicity.subject_id == subject_id,
                Publicity.cycle_year == cycle_year,
            )
            .order_by(Publicity.version.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
    why = rules.objection_refusal(
        pub.status if pub else None,
        pub.opens_on if pub else None,
        pub.closes_on if pub else None,
        filed_on,
        reason,
        filed_by,
    )
    if why or pub is None:
        raise ReviewError(why or "not in publicity")
    model = MODELS[subject]
    status = session.scalar(
        select(model.status).where(
            SUBJECT_KEY[subject] == subject_id, model.cycle_year == cycle_year
        )
    )
    from models.transitions import check_transition

    check_transition(subject, status, "returned")
    session.execute(
        insert(Objection),
        [
            dict(
                publicity_id=pub.id,
                subject=subject,
                subject_id=subject_id,
                cycle_year=cycle_year,
                filed_by=filed_by,
                reason=reason,
                filed_on=filed_on,
                received_at=at,
            )
        ],
    )
    session.execute(
        update(Publicity).where(Publicity.id == pub.id).values(status="objected", closed_at=at)
    )
    _set_status(
        session,
        subject,
        cycle_year,
        [dict(subject_id=subject_id, status="returned", reason=f"objection: {reason}")],
    )
    audit_many(
        session,
        [
            dict(
                actor=f"objection:{filed_by}",
                action="review.objection",
                entity=subject,
                entity_id=f"{subject_id}/{cycle_year}",
                before={"status": status},
                after={"status": "returned", "reason": reason},
            )
        ],
    )
    region, province = county_region(session, pub.village_code[:6])
    sync_states(
        session,
        cycle_year,
        [pub.village_code],
        policy=load_policy(session, cycle_year, region, province),
        at=at,
    )
    return {
        "subject": subject,
        "subject_id": subject_id,
        "status": "returned",
        "publicity_id": pub.id,
    }


# --- Overdue -----------------------------------------------------------------------------------


def overdue(
    session: Session, *, county: str | None, at: datetime, village: str | None = None
) -> list[dict[str, Any]]:
    """Items waiting in a stage for longer than the policy's deadline (of their cycle)."""
    stmt = select(
        ReviewState.village_code,
        ReviewState.stage,
        ReviewState.subject,
        ReviewState.cycle_year,
        ReviewState.entered_at,
    ).where(ReviewState.stage.is_not(None))
    if county:
        stmt = stmt.where(ReviewState.village_code.like(f"{county}%"))
    if village:
        stmt = stmt.where(ReviewState.village_code == village)
    policies: dict[tuple[str, int], Policy] = {}
    hits = []
    for r in session.execute(stmt):
        key = (r.village_code[:6], r.cycle_year)
        if key not in policies:
            policies[key] = policy_for(session, key[0], key[1])
        entered = r.entered_at if r.entered_at.tzinfo else r.entered_at.replace(tzinfo=at.tzinfo)
        if rules.is_overdue(entered, at, policies[key]):
            hits.append((r.village_code, r.stage, r.subject))
    return rules.overdue_groups(hits)


def cycles_in_review(session: Session, county: str | None) -> list[tuple[str, int]]:
    """(county, cycle_year) pairs with items still in review."""
    out: set[tuple[str, int]] = set()
    for subject, model in MODELS.items():
        stmt = (
            select(func.substr(model.village_code, 1, 6), model.cycle_year)
            .where(model.status.in_(pending_statuses(subject)))
            .distinct()
        )
        if county:
            stmt = stmt.where(model.village_code.like(f"{county}%"))
        out |= {(c, y) for c, y in session.execute(stmt)}
    return sorted(out)


def villages_of(session: Session, county: str, villages: Sequence[str] | None) -> list[str]:
    stmt = select(Village.village_code).where(Village.county_code == county)
    if villages:
        stmt = stmt.where(Village.village_code.in_(villages))
    return list(session.scalars(stmt.order_by(Village.village_code)))


# --- Prefect tasks: one session, one commit, a small summary -----------------------------


@task(
    cache_policy=NO_CACHE,
    name="review-sync",
    task_run_name="review-sync-{county}-{cycle_year}-{chunk_no}",
)
def sync_task(
    county: str, cycle_year: int, villages: list[str], chunk_no: int = 0
) -> dict[str, int]:
    with session_scope() as session:
        return sync_states(
            session, cycle_year, villages, policy=policy_for(session, county, cycle_year)
        )


@task(cache_policy=NO_CACHE, name="review-close-publicity")
def close_publicity_task(county: str | None, today: date | None = None) -> dict[str, int]:
    with session_scope() as session:
        return close_publicity(session, today=today or now().date(), county=county)


@task(cache_policy=NO_CACHE, name="review-apply-file")
def apply_file_task(county: str, cycle_year: int, path: str) -> dict[str, Any]:
    with session_scope() as session:
        res = apply_decisions_file(session, Path(path), cycle_year=cycle_year, county=county)
        counts = res.result.counts() if res.result else {}
        return {"ok": res.ok, "errors": res.errors[:200], "error_count": len(res.errors), **counts}


@task(cache_policy=NO_CACHE, name="review-pending")
def pending_task(county: str, cycle_year: int, villages: list[str] | None) -> list[dict[str, Any]]:
    with session_scope() as session:
        codes = villages_of(session, county, villages)
        return pending_groups(
            session, cycle_year, codes, policy=policy_for(session, county, cycle_year)
        )


@task(cache_policy=NO_CACHE, name="review-form", task_run_name="review-form-{village}-{stage}")
def form_task(county: str, cycle_year: int, village: str, stage: str) -> dict[str, Any]:
    """What the form of one village and stage shows, and the key of its pause."""
    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        items = group_items(session, cycle_year, village, stage, policy=policy)
        vname = session.scalar(select(Village.name).where(Village.village_code == village))
        stages = rules.stages_for(policy, items[0]["subject"]) if items else []
        rows = [
            rules.PendingRow(
                i["subject"],
                i["subject_id"],
                i["label"],
                i["version"],
                i["measures"],
                i["cost_yuan"],
                i["decider"],
                i["note"],
            )
            for i in items
        ]
        roles = sorted({r for i in items for r in i["roles"]}) or (
            rules.level_roles(stage, stages, rules.ladder(policy))
        )
        md = rules.form_markdown(
            vname or village,
            village,
            stage,
            roles,
            rows,
            last_refusals(session, cycle_year, village, stage),
        )
        return {
            "markdown": md,
            "items": len(items),
            "deadline_seconds": policy.review_deadline_days * 86400,
            "key": f"{village}-{stage}-{decision_count(session, cycle_year, county)}",
        }


@task(cache_policy=NO_CACHE, name="review-submit", task_run_name="review-submit-{village}-{stage}")
def submit_task(
    county: str,
    cycle_year: int,
    village: str,
    stage: str,
    form: dict[str, Any],
    channel: str = "ui",
) -> dict[str, Any]:
    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        today = now().date()
        reqs = form_requests(
            session,
            cycle_year=cycle_year,
            village=village,
            stage=stage,
            reviewer_id=str(form.get("reviewer_id") or ""),
            approve_all=bool(form.get("approve_all")),
            decisions=list(form.get("decisions") or []),
            decided_on=today,
            policy=policy,
        )
        res = decide(
            session, reqs, cycle_year=cycle_year, channel=channel, county=county, today=today
        )
        return res.counts()


@task(cache_policy=NO_CACHE, name="review-overdue")
def overdue_task(county: str | None, at: datetime | None = None) -> list[dict[str, Any]]:
    with session_scope() as session:
        at = at or now()
        for c, year in cycles_in_review(session, county):
            policy = policy_for(session, c, year)
            codes = villages_of(session, c, None)
            for part in range(0, len(codes), 200):
                sync_states(session, year, codes[part : part + 200], policy=policy)
        return overdue(session, county=county, at=at)


def entered_since(entered: datetime, at: datetime) -> timedelta:
    return at - (entered if entered.tzinfo else entered.replace(tzinfo=at.tzinfo))
