"""Check every row dispatch wrote against the rules, independently of the dispatch code:
`check_dispatch_invariants(session, county, cycle_year)` returns the list of problems, empty
when every team, member, helper and shortage of the county obeys the rules (for task, flow
and end-to-end tests on a seeded or generated county)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    County,
    HelperAssignment,
    Household,
    Official,
    Relation,
    Shortage,
    Team,
    TeamMember,
    Village,
)

from zhucun.policy import load_policy


def check_dispatch_invariants(session: Session, county: str, cycle_year: int) -> list[str]:
    c = session.get(County, county)
    if c is None:
        return [f"county {county} not in the database"]
    policy = load_policy(session, cycle_year, c.region, county[:2])
    out: list[str] = []
    villages = {
        v.village_code: v
        for v in session.scalars(select(Village).where(Village.county_code == county))
    }
    poor_villages = {code for code, v in villages.items() if v.registered_poor}
    near = set(policy.near_relations)
    related: set[frozenset[str]] = {
        frozenset((a, b))
        for a, b, kind in session.execute(
            select(Relation.id_number_a, Relation.id_number_b, Relation.relation)
        )
        if kind in near
    }
    spouse_rel = {
        frozenset((a, b))
        for a, b, kind in session.execute(
            select(Relation.id_number_a, Relation.id_number_b, Relation.relation)
        )
        if kind == "spouse"
    }
    cadres = {
        r.cadre_id: r
        for r in session.execute(
            select(
                Cadre.cadre_id,
                Cadre.id_number,
                Cadre.agency,
                Cadre.party_member,
                Cadre.party_join_year,
                Cadre.work_start_year,
                Cadre.home_village_code,
                Cadre.available,
                Cadre.spouse_cadre_id,
            )
        )
    }
    officials: dict[str, set[str]] = defaultdict(set)
    for area, idn in session.execute(
        select(Official.area_code, Official.id_number).where(Official.level == "village")
    ):
        officials[area].add(idn)
    heads: dict[str, str] = {}
    poor_heads: dict[str, set[str]] = defaultdict(set)
    poor_households: dict[str, str] = {}
    for hid, code, idn, poor in session.execute(
        select(
            Household.household_id,
            Household.village_code,
            Household.head_id_number,
            Household.registered_poor,
        ).where(Household.village_code.in_(list(villages)))
    ):
        heads[hid] = idn
        if poor:
            poor_heads[code].add(idn)
            poor_households[hid] = code
    shortages = {
        (s.village_code, s.kind): s
        for s in session.scalars(
            select(Shortage).where(
                Shortage.cycle_year == cycle_year, Shortage.village_code.in_(list(villages))
            )
        )
    }

    def near_relative(a: str, b: str) -> bool:
        return a == b or frozenset((a, b)) in related

    # --- a cadre in at most one active team (all counties) -------------------------------
    active_members = session.execute(
        select(TeamMember.cadre_id, TeamMember.team_id, TeamMember.role)
        .join(Team, Team.team_id == TeamMember.team_id)
        .where(TeamMember.active.is_(True))
    ).all()
    for cid, n in Counter(r.cadre_id for r in active_members).items():
        if n > 1:
            out.append(f"cadre {cid}: in {n} active teams")
    members: dict[int, list[tuple[str, str]]] = defaultdict(list)
    team_of: dict[str, str] = {}
    for r in active_members:
        members[r.team_id].append((r.cadre_id, r.role))

    # --- teams ----------------------------------------------------------------------------
    teams = session.scalars(
        select(Team).where(Team.village_code.in_(list(villages)), Team.status == "active")
    ).all()
    teamed: dict[str, Team] = {}
    for t in teams:
        where = f"team of {t.village_code} ({t.cycle_year})"
        if t.village_code in teamed:
            out.append(f"{where}: a second active team")
        teamed[t.village_code] = t
        if t.village_code not in poor_villages:
            out.append(f"{where}: village is not a registered poor village")
        ms = members[t.team_id]
        ids = [cid for cid, _ in ms]
        for cid in ids:
            team_of[cid] = t.village_code
        if len(ms) < policy.team_min_size:
            out.append(f"{where}: {len(ms)} members, fewer than {policy.team_min_size}")
        if len(ms) > policy.team_max_size:
            out.append(f"{where}: {len(ms)} members, more than {policy.team_max_size}")
        leaders = [cid for cid, role in ms if role == "first_secretary"]
        if leaders != [t.leader_cadre_id]:
            out.append(f"{where}: first secretaries {leaders}, leader {t.leader_cadre_id}")
        lead = cadres.get(t.leader_cadre_id)
        if lead is None or not (
            lead.party_member
            and lead.party_join_year is not None
            and t.cycle_year - lead.party_join_year >= policy.first_secretary_min_party_years
            and t.cycle_year - lead.work_start_year >= policy.first_secretary_min_work_years
        ):
            out.append(f"{where}: leader {t.leader_cadre_id} does not qualify as first secretary")
        min_end = date(
            t.term_start.year + policy.team_term_years, t.term_start.month, t.term_start.day
        )
        if t.term_end < min_end:
            out.append(
                f"{where}: term {t.term_start}..{t.term_end} shorter than "
                f"{policy.team_term_years} years"
            )
        if t.agency not in {cadres[cid].agency for cid in ids if cid in cadres}:
            out.append(f"{where}: agency {t.agency} sent none of its members")
        for cid in ids:
            m = cadres.get(cid)
            if m is None:
                out.append(f"{where}: unknown cadre {cid}")
                continue
            if t.cycle_year == cycle_year and not m.available:
                out.append(f"{where}: cadre {cid} is not available")
            if m.home_village_code == t.village_code:
                out.append(f"{where}: cadre {cid} sent to his home village")
            if any(near_relative(m.id_number, o) for o in officials[t.village_code]):
                out.append(f"{where}: cadre {cid} is a near relative of a village official")
            if any(near_relative(m.id_number, h) for h in poor_heads[t.village_code]):
                out.append(f"{where}: cadre {cid} is a near relative of a poor household head")
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                ca, cb = cadres.get(a), cadres.get(b)
                if (
                    ca
                    and cb
                    and (
                        ca.spouse_cadre_id == b
                        or cb.spouse_cadre_id == a
                        or frozenset((ca.id_number, cb.id_number)) in spouse_rel
                    )
                ):
                    out.append(f"{where}: spouses {a} and {b} in one team")
        for kind in ("team", "leader"):
            if t.cycle_year == cycle_year and (t.village_code, kind) in shortages:
                out.append(f"{where}: has a team but a {kind} shortage is recorded")
    for code in sorted(poor_villages - set(teamed)):
        if (code, "team") not in shortages:
            out.append(f"village {code}: registered poor, no active team and no shortage")

    # --- helpers ----------------------------------------------------------------------------
    helpers = session.execute(
        select(
            HelperAssignment.household_id, HelperAssignment.cadre_id, HelperAssignment.village_code
        ).where(HelperAssignment.cycle_year == cycle_year)
    ).all()
    load = Counter(r.cadre_id for r in helpers)  # over all the cycle's assignments
    for cid, n in load.items():
        if n > policy.helper_caseload_cap:
            out.append(f"cadre {cid}: helps {n} households, cap {policy.helper_caseload_cap}")
    per_household = Counter(r.household_id for r in helpers)
    unhelped: Counter[str] = Counter()
    for hid, code in poor_households.items():
        n = per_household.get(hid, 0)
        if n != 1:
            if n == 0:
                unhelped[code] += 1
            else:
                out.append(f"household {hid}: {n} helpers")
    for code, n in unhelped.items():
        s = shortages.get((code, "helper"))
        if s is None or s.missing_members != n:
            out.append(
                f"village {code}: {n} poor households without a helper, shortage "
                f"{s.missing_members if s else 'not recorded'}"
            )
    for r in helpers:
        if r.household_id not in heads:
            continue  # another county
        if r.household_id not in poor_households:
            out.append(f"household {r.household_id}: helper but not registered poor")
        m = cadres.get(r.cadre_id)
        if m is None:
            out.append(f"household {r.household_id}: unknown helper {r.cadre_id}")
            continue
        if near_relative(m.id_number, heads[r.household_id]):
            out.append(
                f"household {r.household_id}: helper {r.cadre_id} is a near relative of the head"
            )
        if r.village_code != poor_households.get(r.household_id, r.village_code):
            out.append(f"household {r.household_id}: helper row names village {r.village_code}")
        tv = team_of.get(r.cadre_id)
        if tv is not None and tv != r.village_code:
            out.append(
                f"household {r.household_id}: helper {r.cadre_id} is in the team of "
                f"another village ({tv})"
            )
        t = teamed.get(r.village_code)
        if t is not None:
            sponsors = {t.agency} | {
                cadres[cid].agency for cid, _ in members[t.team_id] if cid in cadres
            }
            if m.agency not in sponsors:
                out.append(
                    f"household {r.household_id}: helper {r.cadre_id} of {m.agency}, "
                    f"not a sponsor agency of the village's team"
                )

    # --- shortages ----------------------------------------------------------------------------
    for (code, kind), s in shortages.items():
        if s.missing_members <= 0 or not s.reason.strip():
            out.append(f"shortage {code}/{kind}: missing {s.missing_members}, reason {s.reason!r}")
        if kind not in ("team", "leader", "helper"):
            out.append(f"shortage {code}/{kind}: unknown kind")
    return out
