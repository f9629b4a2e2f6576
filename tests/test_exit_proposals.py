"""Exit is proposed, never flipped (issue 12.3): one household failing each condition and one
meeting all; every one of them stays poor, and only the last is on the 预退出 list."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import Household
from zhucun.models.evaluation import ExitProposal
from zhucun.models.lifecycle import MeasureDelivery, Strategy
from zhucun.tasks.evaluation import evaluate_progress_task

from tests.support.county import COUNTY, SeedInfo, add_surveys, seed_county
from tests.support.lifecycle_fixtures import survey
from zhucun.policy import default_policy
from zhucun.rules import exit as exit_rules
from zhucun.rules.exit import Situation

P = default_policy(2026, "east")
LINE = P.poverty_line_yuan
GOOD = Situation(LINE + 500, True, True, True, True, "A")
CASES = ("all_met", "one_survey", "guarantee_missing", "strategy_draft", "nothing_delivered")


def test_two_surveys_above_the_line_are_steady_one_is_not() -> None:
    """稳定超过: the policy's last `exit_stable_surveys` (2) surveys must all be above."""
    assert P.exit_stable_surveys == 2
    ok = exit_rules.propose_exit(
        [GOOD, GOOD], strategy_status="approved", delivered_measures=1, policy=P
    )
    assert ok.propose and ok.met == list(exit_rules.EXIT_CONDITIONS)
    low = replace(GOOD, per_capita_income_yuan=LINE - 1)
    for surveys in ([GOOD], [GOOD, low]):
        c = exit_rules.propose_exit(
            surveys, strategy_status="approved", delivered_measures=1, policy=P
        )
        assert not c.propose and c.missing == [exit_rules.EXIT_INCOME_STEADY]


def test_each_other_condition_blocks_the_proposal() -> None:
    no_water = replace(GOOD, safe_water_ok=False)
    cases = {
        exit_rules.EXIT_GUARANTEES: ([no_water, GOOD], "approved", 1),
        exit_rules.EXIT_STRATEGY_APPROVED: ([GOOD, GOOD], "draft", 1),
        exit_rules.EXIT_MEASURE_DELIVERED: ([GOOD, GOOD], "approved", 0),
    }
    for missing, (surveys, status, delivered) in cases.items():
        c = exit_rules.propose_exit(
            surveys, strategy_status=status, delivered_measures=delivered, policy=P
        )
        assert not c.propose and c.missing == [missing], missing


@pytest.fixture
def planted(session: Session) -> dict[str, str]:
    info: SeedInfo = seed_county(session)
    village = info.poor_villages[0]
    hids = list(
        session.scalars(
            select(Household.household_id)
            .where(Household.village_code == village, Household.registered_poor.is_(True))
            .order_by(Household.household_id)
            .limit(len(CASES))
        )
    )
    by_case = dict(zip(CASES, hids, strict=True))
    rows = []
    for case, hid in by_case.items():
        first = LINE - 200 if case == "one_survey" else LINE + 400
        water = case != "guarantee_missing"
        rows += [
            survey(hid, date(2026, 3, 10), first),
            survey(hid, date(2026, 6, 10), LINE + 600, safe_water_ok=water),
        ]
        status = "draft" if case == "strategy_draft" else "approved"
        session.add(
            Strategy(
                household_id=hid,
                village_code=village,
                cycle_year=2026,
                measures=["industry"],
                status=status,
                approved_on=date(2026, 2, 1) if status == "approved" else None,
            )
        )
        if case != "nothing_delivered":
            session.add(
                MeasureDelivery(
                    household_id=hid,
                    village_code=village,
                    cycle_year=2026,
                    measure="industry",
                    state="delivered",
                    state_on=date(2026, 3, 1),
                    spent_yuan=4800,
                )
            )
    add_surveys(session, rows)
    session.commit()
    evaluate_progress_task.fn(COUNTY, "2026-06", info.villages)
    return by_case


def test_only_the_household_meeting_every_condition_is_proposed(
    session: Session, planted: dict[str, str]
) -> None:
    proposals = session.scalars(select(ExitProposal)).all()
    assert [p.household_id for p in proposals] == [planted["all_met"]]
    p = proposals[0]
    assert (p.period, p.status) == ("2026-06", "proposed")
    assert p.reasons_met == list(exit_rules.EXIT_CONDITIONS)
    assert p.evidence["incomes"] == [LINE + 600, LINE + 400]


def test_nobody_is_flipped_to_exited(session: Session, planted: dict[str, str]) -> None:
    session.expire_all()
    for case, hid in planted.items():
        hh = session.get(Household, hid)
        assert (hh.status, hh.exited_period) == ("poor", None), case


def test_a_rerun_proposes_nothing_twice(session: Session, planted: dict[str, str]) -> None:
    from tests.support.county import COUNTY as C

    villages = list(session.scalars(select(Household.village_code).distinct()))
    evaluate_progress_task.fn(C, "2026-06", villages)
    assert len(session.scalars(select(ExitProposal)).all()) == 1
