"""Dispatch tasks on the real SQLite database, on the seeded county and its planted
conflicts (tests/support/county.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, insert, select, update
from sqlmodel import Session, SQLModel
from zhucun.models import (
    AuditEvent,
    Cadre,
    HelperAssignment,
    Shortage,
    Team,
    TeamMember,
    VillageAssessment,
)
from zhucun.models.transitions import IllegalTransition
from zhucun.tasks.common import Scope
from zhucun.tasks.dispatch import (
    dispatch_chunk,
    dispatch_summary,
    end_expired_teams,
    load_conflicts,
    load_pool,
    plan_chunks,
)

from tests.support.county import COUNTY, SeedInfo, seed_county
from tests.support.invariants_dispatch import check_dispatch_invariants
from zhucun.policy import default_policy
from zhucun.rules.dispatch import RELATIVE_OF_OFFICIAL, RELATIVE_OF_POOR_HEAD

YEAR = 2026
TABLES: tuple[type[SQLModel], ...] = (Team, TeamMember, HelperAssignment, Shortage, AuditEvent)


def run(
    session: Session,
    year: int = YEAR,
    batch_size: int | None = None,
    retry_shortages: bool = False,
    villages: list[str] | None = None,
) -> list[dict]:
    """What the flow does, without Prefect: the chunks in need order, one commit each."""
    chunks = plan_chunks(
        session,
        Scope(county=COUNTY, villages=villages),
        year,
        batch_size=batch_size,
        retry_shortages=retry_shortages,
    )
    out = []
    for chunk in chunks:
        out.append(dispatch_chunk(session, COUNTY, year, chunk, retry_shortages=retry_shortages))
        session.commit()
    return out


def counts(session: Session) -> dict[str, int]:
    return {
        m.__name__: session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in TABLES
    }


def members_of(session: Session, village: str) -> set[str]:
    return set(
        session.scalars(
            select(TeamMember.cadre_id)
            .join(Team, Team.team_id == TeamMember.team_id)
            .where(Team.village_code == village, TeamMember.active.is_(True))
        )
    )


@pytest.fixture
def county(session: Session) -> SeedInfo:
    info = seed_county(session)
    session.commit()
    return info


def test_seeded_county_every_poor_village_gets_a_team_and_every_row_obeys_the_rules(
    session: Session, county: SeedInfo
) -> None:
    run(session)
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []
    teams = session.scalars(select(Team)).all()
    assert sorted(t.village_code for t in teams) == sorted(county.poor_villages)
    helped = set(session.scalars(select(HelperAssignment.household_id)))
    assert helped == set(county.poor_households), "poor households of non-poor villages too"


def test_cadre_related_to_the_village_director_is_not_sent_there(
    session: Session, county: SeedInfo
) -> None:
    """Planted: C003 is the sibling of the committee director of poor village 1."""
    run(session)
    cadre_id, village = county.cadre_related_to_director
    assert cadre_id not in members_of(session, village)


def test_cadre_is_not_sent_to_his_home_village(session: Session, county: SeedInfo) -> None:
    run(session)
    cadre_id, village = county.cadre_home_village
    assert cadre_id not in members_of(session, village)


def test_junior_party_member_never_leads_a_team(session: Session, county: SeedInfo) -> None:
    """Planted: C001 joined the party in the cycle year."""
    run(session)
    leaders = set(session.scalars(select(Team.leader_cadre_id)))
    assert county.junior_party_cadre not in leaders


def test_spouses_are_not_in_one_team(session: Session, county: SeedInfo) -> None:
    run(session)
    a, b = county.spouses
    for v in county.poor_villages:
        assert not {a, b} <= members_of(session, v)


def test_helper_is_not_a_relative_of_the_household_head(session: Session, county: SeedInfo) -> None:
    """Planted: C005 is the child of a poor household head in village 1."""
    run(session)
    cadre_id, household = county.cadre_related_to_head
    helper = session.scalar(
        select(HelperAssignment.cadre_id).where(HelperAssignment.household_id == household)
    )
    assert helper is not None and helper != cadre_id


def test_conflicts_come_from_relations_in_both_directions(
    session: Session, county: SeedInfo
) -> None:
    """Relations are stored once with id_number_a < id_number_b: the cadre may be either."""
    policy = default_policy(YEAR, "east")
    pool = load_pool(session, YEAR, {})
    c = load_conflicts(session, county.poor_villages, pool, policy)
    v1 = county.poor_villages[1]
    assert c.village[v1][county.cadre_related_to_director[0]] == RELATIVE_OF_OFFICIAL
    cadre_id, household = county.cadre_related_to_head
    assert c.village[v1][cadre_id] == RELATIVE_OF_POOR_HEAD
    assert c.household[household] == {cadre_id}
    a, b = county.spouses
    assert c.spouses[a] == {b}


def test_a_county_never_takes_the_cadres_another_county_selected(
    session: Session, county: SeedInfo
) -> None:
    """先定村、再定人 is coordinated per county (2021 opinion): in a province's database a
    county's dispatch draws on the cadres it selected (派驻县) and on cadres of no county in
    particular, never on those another county selected."""
    cadres = sorted(session.scalars(select(Cadre.cadre_id).where(Cadre.available.is_(True))))
    others, own, anywhere = set(cadres[0::3]), set(cadres[1::3]), set(cadres[2::3])
    for ids, code in ((others, "522627"), (own, COUNTY)):
        session.execute(
            update(Cadre).where(Cadre.cadre_id.in_(ids)).values(serving_county_code=code)
        )
    session.commit()
    assert {c.cadre_id for c in load_pool(session, YEAR, {}, COUNTY)} == own | anywhere
    assert others <= {c.cadre_id for c in load_pool(session, YEAR, {})}  # no county given
    run(session)
    used = set(session.scalars(select(TeamMember.cadre_id))) | set(
        session.scalars(select(HelperAssignment.cadre_id))
    )
    assert used.isdisjoint(others)
    assert used & own and used & anywhere
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []


def test_a_second_run_changes_nothing(session: Session, county: SeedInfo) -> None:
    run(session)
    before = counts(session)
    assert run(session) == []  # nothing left to do: no chunk at all
    assert counts(session) == before


def test_a_run_that_failed_halfway_completes_the_rest(session: Session, county: SeedInfo) -> None:
    """Small chunks; only the first is committed (the run died after it). The re-run serves
    the rest, with no duplicate and every rule kept."""
    chunks = plan_chunks(session, Scope(county=COUNTY), YEAR, batch_size=10)
    assert len(chunks) > 2
    dispatch_chunk(session, COUNTY, YEAR, chunks[0])
    session.commit()
    first = counts(session)
    run(session, batch_size=10)
    assert counts(session)["Team"] == len(county.poor_villages) > first["Team"]
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []
    assert counts(session)["HelperAssignment"] == len(county.poor_households)


def test_shortage_when_cadres_run_short_lands_on_the_least_needy_villages(session: Session) -> None:
    """Nine cadres for four poor villages: the neediest get teams, the others a recorded
    shortage with its reason, and no team is ever short of three."""
    seed_county(session, cadres=9)
    session.commit()
    run(session)
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []
    need = dict(
        session.execute(select(VillageAssessment.village_code, VillageAssessment.need_score)).all()
    )
    assert need == {}  # no analysis yet: need computed from the registry
    teams = set(session.scalars(select(Team.village_code)))
    short = {
        s.village_code: s for s in session.scalars(select(Shortage).where(Shortage.kind == "team"))
    }
    assert teams and short and not teams & set(short)
    assert all(s.reason.startswith("no team sent") for s in short.values())
    before = counts(session)
    run(session)
    assert counts(session) == before, "a recorded shortage is not retried by default"


def test_village_assessment_need_score_decides_the_order(session: Session) -> None:
    """With an analysis for the cycle, its need score orders the villages: the village the
    analysis ranks neediest (the last by code) is served first, from six cadres."""
    info = seed_county(session, cadres=6)
    last = info.poor_villages[-1]
    session.execute(
        insert(VillageAssessment),
        [
            dict(
                village_code=v,
                cycle_year=YEAR,
                poor_households=20,
                poor_population=80,
                poverty_incidence=0.5 if v == last else 0.1,
                gaps=[],
                top_causes=["illness"],
                cause_distribution={"illness": 20},
                industries=[],
                need_score=50000 if v == last else 10000,
            )
            for v in info.poor_villages
        ],
    )
    session.commit()
    run(session)
    served = list(session.scalars(select(Team.village_code).order_by(Team.team_id)))
    assert served[0] == last and len(served) < len(info.poor_villages)
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []


def test_retry_shortages_after_more_cadres_arrive(session: Session) -> None:
    """The operator imports more cadres and retries: the shortage villages get teams and
    their shortages are resolved (audited)."""
    info = seed_county(session, cadres=9)
    session.commit()
    run(session)
    assert session.scalar(select(func.count()).select_from(Shortage).where(Shortage.kind == "team"))
    session.execute(
        insert(Cadre),
        [
            dict(
                cadre_id=f"N{i:03d}",
                name=f"新{i}",
                id_number=f"13062419900101{i:03d}X"[-18:],
                gender="M",
                agency="省农业农村厅",
                agency_level="provincial",
                home_county_code="130100",
                party_member=True,
                party_join_year=2000,
                work_start_year=1998,
                skills=["agriculture"],
                available=True,
            )
            for i in range(40)
        ],
    )
    session.commit()
    run(session, retry_shortages=True)
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []
    assert sorted(session.scalars(select(Team.village_code))) == sorted(info.poor_villages)
    assert session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "shortage_resolved")
    )


def test_audit_trail_records_every_team_and_helper(session: Session, county: SeedInfo) -> None:
    run(session)
    actions = dict(
        session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all()
    )
    assert actions["team_dispatched"] == len(county.poor_villages)
    # helpers are rule-made pairings: one audit row per chunk counts them (the rows are the
    # helperassignment table)
    batches = session.scalars(
        select(AuditEvent.after).where(AuditEvent.action == "helpers_assigned_batch")
    ).all()
    assert sum(b["helpers"] for b in batches) == len(county.poor_households)
    assert all(b["rule"] and b["policy_version"] for b in batches)
    text = " ".join(str(a) for a in session.scalars(select(AuditEvent.after)))
    assert not any(idn in text for idn in county.id_numbers.values())


def test_summary_masks_names_and_shows_no_id_number(session: Session, county: SeedInfo) -> None:
    run(session)
    s = dispatch_summary(session, Scope(county=COUNTY), YEAR)
    assert s["teams"] == len(county.poor_villages)
    assert s["helpers"] == s["poor_households"] == len(county.poor_households)
    row = next(r for r in s["rows"] if r["village"] == county.poor_villages[0])
    assert row["team_size"] == 3 and "*" in row["leader"] and "(C" in row["leader"]
    assert not any(idn in repr(s) for idn in county.id_numbers.values())


def test_ended_terms_free_the_cadres_and_villages_get_new_teams(
    session: Session, county: SeedInfo
) -> None:
    """Two years on, the 2026 teams' terms have ended: they become `ended` (team state
    machine), members inactive, and dispatch for 2028 sends new teams."""
    run(session)
    assert end_expired_teams(session, COUNTY, YEAR + 1) == {"ended": 0, "members_released": 0}
    result = end_expired_teams(session, COUNTY, YEAR + 2)
    session.commit()
    assert result == {"ended": 4, "members_released": 12}
    assert set(session.scalars(select(Team.status))) == {"ended"}
    assert not session.scalar(
        select(func.count()).select_from(TeamMember).where(TeamMember.active.is_(True))
    )
    run(session, year=YEAR + 2)
    assert check_dispatch_invariants(session, COUNTY, YEAR + 2) == []
    assert (
        session.scalar(
            select(func.count())
            .select_from(Team)
            .where(Team.status == "active", Team.cycle_year == YEAR + 2)
        )
        == 4
    )


def test_a_recalled_team_cannot_be_ended(session: Session, county: SeedInfo) -> None:
    run(session)
    session.execute(
        update(Team).where(Team.village_code == county.poor_villages[0]).values(status="recalled")
    )
    # a recalled team is not active: it is not touched; an ended one cannot come back
    end_expired_teams(session, COUNTY, YEAR + 2)
    session.commit()
    statuses = dict(session.execute(select(Team.village_code, Team.status)).all())
    assert statuses[county.poor_villages[0]] == "recalled"
    from zhucun.models.transitions import check_transition

    with pytest.raises(IllegalTransition):
        check_transition("team", "ended", "active")
    assert date(YEAR + 2, 1, 1) == session.scalar(select(func.max(Team.term_end)))
