"""People, not role IDs: a cadre ID and an official's person ID of one human are one
person for "never two stages", and ID numbers typed with full-width digits still match."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert, select, update
from sqlmodel import Session
from zhucun.models import Cadre, Decision, Household, Official, Relation
from zhucun.tasks import review as T

from tests.support.review_fixtures import YEAR, ReviewSeed, seed_review
from zhucun.rules import review as rules
from zhucun.rules.review import Request

D = date(2026, 3, 2)
FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.fixture
def seed(session: Session) -> ReviewSeed:
    s = seed_review(session)
    session.commit()
    return s


def _one(session: Session, hid: str, stage: str, reviewer: str) -> T.Outcome:
    res = T.decide(
        session,
        [Request("strategy", hid, stage, reviewer, "approve", None, D)],
        cycle_year=YEAR,
        channel="cli",
    )
    session.commit()
    return res.outcomes[0]


def test_one_person_with_a_cadre_id_and_a_person_id_signs_one_stage(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    hid, leader = seed.strategies[v0][0], seed.teams[v0][0]
    director = seed.officials(v0)["committee_director"]
    id_no = session.scalar(select(Official.id_number).where(Official.person_id == director))
    # the first secretary was imported with the director's ID number (typed full-width)
    session.execute(
        update(Cadre).where(Cadre.cadre_id == leader).values(id_number=id_no.translate(FULL))
    )
    session.commit()
    assert _one(session, hid, "team", leader).verdict.accepted
    o = _one(session, hid, "committee", director)
    assert not o.verdict.accepted
    assert "the same person already decided stage team" in (o.verdict.refusal or "")
    persons = set(session.scalars(select(Decision.person).where(Decision.subject_id == hid)))
    assert persons == {id_no}  # both rows name the one person, normalised


def test_a_relative_stored_with_full_width_digits_is_still_caught(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    hid, member = seed.strategies[v0][1], seed.teams[v0][1]
    head = session.scalar(select(Household.head_id_number).where(Household.household_id == hid))
    cadre = session.scalar(select(Cadre.id_number).where(Cadre.cadre_id == member))
    a, b = sorted((head, cadre.translate(FULL)))
    session.execute(insert(Relation), [dict(id_number_a=a, id_number_b=b, relation="sibling")])
    session.commit()
    o = _one(session, hid, "team", member)
    assert not o.verdict.accepted and "near relative (sibling)" in (o.verdict.refusal or "")


def test_rules_count_approvers_by_person() -> None:
    """Two IDs of one person are one approver and one decider (pure rules)."""
    same = "130624198001010011"
    ctx = rules.VillageContext(
        village_code="130624100200",
        roles={"C1": frozenset({"first_secretary"}), "C2": frozenset({"member"})},
        id_numbers={"C1": same, "C2": same.translate(FULL)},
        relations={},
        officials={},
    )
    assert ctx.person("C1") == ctx.person("C2") == same
    item = rules.Item("strategy", "H1", YEAR, "130624100200", "draft", 1, "130624197001010020")
    from zhucun.policy import default_policy

    v = rules.validate(
        Request("strategy", "H1", "team", "C2", "approve", None, D),
        item,
        ctx,
        policy=default_policy(YEAR),
        history=[rules.Past("C1", "team", 1, "approve")],
        today=D,
    )
    assert not v.accepted and "the same person already decided stage team" in (v.refusal or "")
