"""Review persistence, reading side: the policy of a county, and loading what a batch of
decisions needs (items, who is who in a village, the ledger's history, escalations).
Helpers take a `session` keyword and never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    Decision,
    HelperAssignment,
    Household,
    Official,
    Plan,
    Relation,
    ReviewEscalation,
    Strategy,
    Team,
    TeamMember,
)
from zhucun.tasks.common import county_region

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
    # the chunk's villages by the area an official of each level serves
    in_area: dict[str, dict[str, list[str]]] = {"village": {}, "township": {}, "county": {}}
    for v in villages:
        in_area["village"][v] = [v]
        in_area["township"].setdefault(v[:9], []).append(v)
        in_area["county"].setdefault(v[:6], []).append(v)
    townships, counties = set(in_area["township"]), set(in_area["county"])
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
        for v in in_area[o.level].get(o.area_code, ()):
            roles[v][o.person_id].add(o.role)
            if o.level == "village":
                officials[v][o.person_id] = o.id_number
    # Every conflict involves a reviewer or an official: load the relations touching them.
    # ID numbers are normalised at import; look for other spellings anyway (defensive).
    people = sorted({x for i in ids.values() if i for x in rules.spellings(i)})
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
    kin = rules.kin_index(relations)
    return {
        v: rules.VillageContext(
            village_code=v,
            roles={k: frozenset(s) for k, s in roles[v].items()},
            id_numbers=ids,
            relations=relations,
            officials=officials[v],
            names=names,
            kin=kin,
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
        .where(Strategy.cycle_year == cycle_year, Strategy.is_current)  # a revision, if any
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
    from zhucun.tasks.procedure_load import load_procedure_items

    items.update(load_procedure_items(session, cycle_year, villages=villages, keys=keys))
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
            Decision.person,
            Decision.decided_on,
        )
        .where(
            Decision.cycle_year == cycle_year,
            Decision.village_code.in_(villages),
            Decision.outcome == "accepted",
        )
        .order_by(Decision.decision_id)
    ):
        out[(r.subject, r.subject_id)].append(
            rules.Past(r.reviewer_id, r.stage, r.version, r.decision, r.person, r.decided_on)
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
