"""The review's stage clock and standing escalations, set-based (`tasks.review_sync`), against
the per-item reading kept as the reference: on a real database, whatever was changed since
the last sync, both name the same stale items and the same 优亲厚友 escalations."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlmodel import Session
from zhucun.models import Household, Official, Relation, ReviewState, Strategy
from zhucun.tasks import review_sync as S
from zhucun.tasks.review import policy_for

from tests.support.review_fixtures import seed_review

YEAR = 2026


def both(session: Session, villages: list[str]) -> tuple[list, list]:
    policy = policy_for(session, "130624", YEAR)
    changed = sorted(S.changed_items(session, YEAR, villages))
    assert changed == sorted(S.changed_reference(session, YEAR, villages))
    key = lambda r: (r["subject_id"], r["stage"])  # noqa: E731
    standing = sorted(S.standing_rows(session, YEAR, villages, policy), key=key)
    assert standing == sorted(S.standing_reference(session, YEAR, villages, policy), key=key)
    return changed, standing


def test_set_based_sync_names_what_the_per_item_reading_names(session: Session) -> None:
    check(session)


def test_on_postgres_too(pg_session: Session) -> None:
    check(pg_session)


def check(session: Session) -> None:
    seed = seed_review(session)
    session.commit()
    v0, v1 = seed.info.poor_villages[0], seed.v1
    policy = policy_for(session, "130624", YEAR)
    changed, standing = both(session, [v0, v1])
    # a first sync: every strategy and plan enters its stage; the planted relative escalates
    assert len(changed) == sum(len(h) for h in seed.strategies.values()) + 2
    assert [r["subject_id"] for r in standing] == [seed.info.official_relative_household[1]]
    S.sync_states(session, YEAR, [v0, v1], policy=policy)
    assert both(session, [v0, v1]) == ([], [])

    # after it: a decision, a redraft, a state recorded under another village, a lost
    # state, a relative declared in full-width digits of another official's ID number
    h0, h1, h2 = seed.strategies[v0][:3]
    session.execute(
        update(Strategy).where(Strategy.household_id == h0).values(status="team_signed")
    )
    session.execute(update(Strategy).where(Strategy.household_id == h1).values(version=2))
    session.execute(update(ReviewState).where(ReviewState.subject_id == h2).values(village_code=v1))
    session.execute(delete(ReviewState).where(ReviewState.subject == "plan"))
    official = session.scalar(
        select(Official.id_number).where(Official.area_code == v0, Official.level == "village")
    )
    head = session.scalar(
        select(Household.head_id_number).where(Household.household_id == seed.strategies[v0][3])
    )
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    a, b = sorted([official.translate(wide), head])
    session.add(Relation(id_number_a=a, id_number_b=b, relation="sibling"))
    # and the official heads a poor household, the head's number typed in full width
    own = seed.strategies[v0][4]
    session.execute(
        update(Household)
        .where(Household.household_id == own)
        .values(head_id_number=official.translate(wide))
    )
    session.commit()

    changed, standing = both(session, [v0, v1])
    assert {c[1] for c in changed} == {h0, h1, v0, v1}
    assert {r["subject_id"] for r in standing} == {seed.strategies[v0][3], own}
    # h2's state is under v1: the chunk of v0 alone does not see it
    changed_v0, _ = both(session, [v0])
    assert h2 in {c[1] for c in changed_v0}
    S.sync_states(session, YEAR, [v0, v1], policy=policy)
    assert both(session, [v0, v1]) == ([], [])
