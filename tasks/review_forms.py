"""What waits for review and the form that decides it: pending (village, stage) groups,
the items of one group with who decides each, form submissions turned into requests, and
overdue stages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlmodel import Session
from zhucun.models import (
    Decision,
    Household,
    Plan,
    ReviewState,
    Strategy,
    Village,
)
from zhucun.tasks.review_load import (
    MODELS,
    load_contexts,
    load_escalations,
    load_items,
    pending_statuses,
    policy_for,
)

from zhucun.policy import Policy
from zhucun.rules import review as rules

# --- Pending work, forms ---------------------------------------------------------------------

# How much of a village code names the body that signs a stage: the village itself for the
# team and committee, its township (9 digits) and county (6) above; also the stage order.
LEVEL_PREFIX: dict[str, int] = {"team": 12, "committee": 12, "township": 9, "county": 6}


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
                # the version under review, as `load_items` reads it: a version no longer
                # current is never on a form, so counting it would leave a group no form shows
                *([Strategy.is_current] if subject == "strategy" else []),
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


def villages_list(village: str | Sequence[str]) -> list[str]:
    return [village] if isinstance(village, str) else sorted(set(village))


def form_units(groups: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pending (village, stage) groups → the forms to show, one per signing body: a village's
    team or committee stage (different people sign each village), the township stage of a
    township (its reviewers decide all their villages at once), the county stage of the
    county. Lower stages first, so a township form gathers what its villages finished."""
    order = {s: i for i, s in enumerate(LEVEL_PREFIX)}
    units: dict[tuple[str, str], list[str]] = defaultdict(list)
    for g in groups:
        cut = LEVEL_PREFIX.get(g["stage"], 12)
        units[(g["stage"], g["village"][:cut])].append(g["village"])
    return [
        dict(stage=stage, area=area, villages=sorted(set(vs)))
        for (stage, area), vs in sorted(units.items(), key=lambda u: (order.get(u[0][0], 9), u[0]))
    ]


def group_items(
    session: Session,
    cycle_year: int,
    village: str | Sequence[str],
    stage: str,
    *,
    policy: Policy,
    subjects: Collection[str] = tuple(MODELS),
) -> list[dict[str, Any]]:
    """The items of one village (or several) waiting for `stage`, with who decides each
    (escalations), the village's name and since when the item waits. Only `subjects`: the
    strategy review's forms show strategies and plans, never a procedure case that waits at
    a stage of the same name (an exit's `township`), which its own form decides."""
    codes = villages_list(village)
    items = load_items(session, cycle_year, villages=codes)
    ctxs = load_contexts(session, codes, policy, cycle_year)
    esc = load_escalations(session, cycle_year, codes)
    full = rules.ladder(policy)
    keys = [
        k
        for k, i in items.items()
        if i.subject in subjects
        and rules.waiting_stage(i.subject, i.status, rules.stages_for(policy, i.subject)) == stage
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
    vnames = dict(
        session.execute(
            select(Village.village_code, Village.name).where(Village.village_code.in_(codes))
        ).all()
    )
    detail = {
        r.household_id: (list(r.measures), float(r.cost_yuan))
        for r in session.execute(
            select(Strategy.household_id, Strategy.measures, Strategy.cost_yuan).where(
                Strategy.cycle_year == cycle_year,
                Strategy.village_code.in_(codes),
                Strategy.is_current,  # the version under review (a revision, if any)
            )
        )
    }
    plan_cost = dict(
        session.execute(
            select(Plan.village_code, Plan.total_cost_yuan).where(
                Plan.cycle_year == cycle_year, Plan.village_code.in_(codes)
            )
        ).all()
    )
    since = {
        (r.subject, r.subject_id): r.entered_at
        for r in session.execute(
            select(ReviewState.subject, ReviewState.subject_id, ReviewState.entered_at).where(
                ReviewState.cycle_year == cycle_year,
                ReviewState.village_code.in_(codes),
                ReviewState.stage == stage,
            )
        )
    }
    out = []
    for key in sorted(keys, key=lambda k: (items[k].village_code, k[0] != "plan", k[1])):
        item = items[key]
        vname = vnames.get(item.village_code, "")
        e = dict(esc.get(key, {}))
        notes = []
        for st, (level, _why) in rules.standing_escalations(
            item, ctxs[item.village_code], full
        ).items():
            e.setdefault(st, level)
            if st == stage:
                notes.append("优亲厚友")
        level = e.get(stage, stage)
        if level != stage and not notes:
            notes.append("conflict")
        measures, cost = detail.get(key[1], ([], float(plan_cost.get(item.village_code) or 0)))
        out.append(
            dict(
                subject=item.subject,
                subject_id=item.subject_id,
                village_code=item.village_code,
                village_name=vname,
                version=item.version,
                label=names.get(item.subject_id, vname) if item.subject == "strategy" else vname,
                measures=measures if item.subject == "strategy" else [],
                cost_yuan=cost,
                decider=level,
                roles=rules.level_roles(level, rules.stages_for(policy, item.subject), full),
                note=(f"escalated to {level} ({', '.join(notes)})" if level != stage else ""),
                waiting_since=since.get(key),
            )
        )
    return out


def deciders(
    session: Session,
    cycle_year: int,
    village: str | Sequence[str],
    roles: Sequence[str],
    *,
    policy: Policy,
) -> list[tuple[str, str, str]]:
    """(name, role, reviewer ID) of everybody holding one of `roles` for these villages:
    whom the form names as allowed to decide (never an ID number)."""
    wanted = set(roles)
    seen: set[tuple[str, str, str]] = set()
    for ctx in load_contexts(session, villages_list(village), policy, cycle_year).values():
        for rid, held in ctx.roles.items():
            for role in held & wanted:
                seen.add((ctx.names.get(rid, rid), role, rid))
    order = {r: i for i, r in enumerate(roles)}
    return sorted(seen, key=lambda d: (order.get(d[1], 9), d[2]))


def last_refusals(
    session: Session, cycle_year: int, village: str | Sequence[str], stage: str
) -> list[tuple[str, str]]:
    """(subject_id, reason) of the refusals of the latest submission for these villages and
    this stage (shown on the form, identical reasons once with a count)."""
    codes = villages_list(village)
    latest = session.scalar(
        select(func.max(Decision.received_at)).where(
            Decision.cycle_year == cycle_year,
            Decision.village_code.in_(codes),
            Decision.stage == stage,
        )
    )
    if latest is None:
        return []
    rows = session.execute(
        select(Decision.subject_id, Decision.refusal_reason)
        .where(
            Decision.cycle_year == cycle_year,
            Decision.village_code.in_(codes),
            Decision.stage == stage,
            Decision.received_at == latest,
            Decision.outcome == "refused",
        )
        .order_by(Decision.decision_id)
    ).all()
    return [(r.subject_id, r.refusal_reason or "") for r in rows]


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
    village: str | Sequence[str],
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
    is recorded. An empty form is refused for every item, never silently dropped. A
    township or county form covers several villages: the reviewer's roles are read per
    village."""
    codes = villages_list(village)
    items = group_items(session, cycle_year, codes, stage, policy=policy)
    ctxs = load_contexts(session, codes, policy, cycle_year)
    rid = reviewer_id.strip()
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
            rid,
            decision,
            reason,
            decided_on,
        )

    out: list[rules.Request] = []
    if approve_all:
        mine = [
            i
            for i in items
            if ctxs[i["village_code"]].roles.get(rid, frozenset()) & set(i["roles"])
        ]
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


def dashboard(
    session: Session, county: str, cycle_year: int, *, at: datetime, policy: Policy
) -> tuple[str, list[dict[str, Any]]]:
    """(county name, rows): waiting items by township and stage with overdue counts, for
    the review dashboard artifact (counts and names of places only)."""
    from zhucun.models import County, Township

    cname = session.scalar(select(County.name).where(County.county_code == county)) or county
    tnames = dict(
        session.execute(
            select(Township.township_code, Township.name).where(Township.county_code == county)
        ).all()
    )
    # One grouped statement (a 250,000-household county has as many waiting items): overdue
    # is `rules.is_overdue` (waiting longer than the deadline) as `entered_at < at - deadline`.
    rs = ReviewState
    cutoff = at - timedelta(days=policy.review_deadline_days)
    township = func.substr(rs.village_code, 1, 9)
    out = []
    for t, stage, strategies, others, villages, late, oldest in session.execute(
        select(
            township,
            rs.stage,
            func.sum(case((rs.subject == "strategy", 1), else_=0)),
            func.sum(case((rs.subject != "strategy", 1), else_=0)),
            func.count(distinct(rs.village_code)),
            func.sum(case((rs.entered_at < cutoff, 1), else_=0)),
            func.min(rs.entered_at),
        )
        .where(
            rs.cycle_year == cycle_year,
            rs.stage.is_not(None),
            rs.village_code.like(f"{county}%"),
        )
        .group_by(township, rs.stage)
        .order_by(township, rs.stage)
    ):
        out.append(
            dict(
                township_code=t,
                township_name=tnames.get(t, t),
                stage=stage,
                strategies=int(strategies),
                plans=int(others),
                villages=int(villages),
                overdue=int(late),
                oldest=oldest if oldest.tzinfo else oldest.replace(tzinfo=at.tzinfo),
            )
        )
    return cname, out


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
