"""The schema: state machines refuse illegal moves; the database itself refuses duplicates
that would make a re-run non-idempotent."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from zhucun.models import Cadre, County, Team, TeamMember, Township, Village
from zhucun.models.transitions import IllegalTransition, allowed, check_transition


def test_strategy_cannot_skip_committee_co_signature() -> None:
    # Mutual supervision: the township may not approve what the village committee has not
    # co-signed.
    with pytest.raises(IllegalTransition, match="team_signed → approved"):
        check_transition("strategy", "team_signed", "approved")
    check_transition("strategy", "committee_signed", "approved")


def test_rejected_is_final_and_returned_goes_back_to_draft() -> None:
    assert not allowed("strategy", "rejected", "draft")
    assert allowed("strategy", "returned", "draft")
    assert allowed("plan", "township_approved", "approved")
    with pytest.raises(IllegalTransition):
        check_transition("plan", "committee_signed", "approved")


def test_unknown_state_is_refused() -> None:
    with pytest.raises(IllegalTransition, match="unknown state"):
        check_transition("team", "active", "retired")


def _geo(session: Session) -> None:
    session.add(County(county_code="130624", name="阜平县", province="河北省", region="east"))
    session.add(Township(township_code="130624100", name="阜平镇", county_code="130624"))
    for code in ("130624100200", "130624100201"):
        session.add(
            Village(
                village_code=code,
                name=code,
                township_code="130624100",
                county_code="130624",
                registered_poor=True,
            )
        )
    session.add(
        Cadre(
            cadre_id="C1",
            name="甲",
            id_number="x" * 18,
            gender="M",
            agency="A",
            agency_level="county",
            home_county_code="130600",
            work_start_year=2000,
        )
    )
    session.flush()


def test_one_active_team_per_village(session: Session) -> None:
    _geo(session)
    kw = dict(
        term_start=date(2026, 1, 1), term_end=date(2028, 1, 1), leader_cadre_id="C1", agency="A"
    )
    session.add(Team(village_code="130624100200", cycle_year=2026, **kw))
    session.flush()
    session.add(Team(village_code="130624100200", cycle_year=2027, **kw))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_cadre_is_in_at_most_one_active_team(session: Session) -> None:
    _geo(session)
    kw = dict(
        cycle_year=2026,
        term_start=date(2026, 1, 1),
        term_end=date(2028, 1, 1),
        leader_cadre_id="C1",
        agency="A",
    )
    t1 = Team(village_code="130624100200", **kw)
    t2 = Team(village_code="130624100201", **kw)
    session.add_all([t1, t2])
    session.flush()
    session.add(TeamMember(team_id=t1.team_id, cadre_id="C1", role="first_secretary"))
    session.flush()
    session.add(TeamMember(team_id=t2.team_id, cadre_id="C1", role="member"))
    with pytest.raises(IntegrityError):
        session.flush()
