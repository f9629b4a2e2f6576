"""Time is not the caller's to choose: a decision is never dated before the item's previous
stage nor after the server's date (Asia/Shanghai); the 公示 window opens on the server's
date; `review publicity close --today` needs an audited `--admin-as-of`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import AuditEvent, Publicity
from zhucun.tasks import review as T
from zhucun.tasks.review_lock import server_today

from tests.support.review_fixtures import YEAR, ReviewSeed, seed_review
from zhucun.cli import app
from zhucun.rules.review import Request

D = date(2026, 3, 2)


@pytest.fixture
def seed(session: Session) -> ReviewSeed:
    s = seed_review(session)
    session.commit()
    return s


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _one(session: Session, hid: str, stage: str, who: str, on: date) -> T.Outcome:
    res = T.decide(
        session,
        [Request("strategy", hid, stage, who, "approve", None, on)],
        cycle_year=YEAR,
        channel="cli",
    )
    session.commit()
    return res.outcomes[0]


def _stages(seed: ReviewSeed, v: str) -> list[tuple[str, str]]:
    return [
        ("team", seed.teams[v][0]),
        ("committee", seed.officials(v)["committee_director"]),
        ("township", "T1"),
    ]


def test_a_decision_before_the_previous_stage_is_refused(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][0]
    (_, team), (_, director), (_, township) = _stages(seed, v0)
    assert _one(session, hid, "team", team, D).verdict.accepted
    assert _one(session, hid, "committee", director, D).verdict.accepted
    early = _one(session, hid, "township", township, date(2020, 1, 1))
    assert not early.verdict.accepted and early.verdict.column == "decided_on"
    assert "cannot precede" in (early.verdict.refusal or "")


def test_cli_refuses_a_backdated_decision(session: Session, seed: ReviewSeed) -> None:
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][1]
    for stage, who in _stages(seed, v0)[:2]:
        assert _one(session, hid, stage, who, D).verdict.accepted
    args = ["review", "decide", "--reviewer", "T1", "--stage", "township", "--household", hid]
    res = cli(*args, "--decision", "approve", "--on", "2020-01-01", "--no-resume")
    assert res.exit_code == 1 and "cannot precede" in res.output
    assert session.scalar(select(Publicity.id).where(Publicity.subject_id == hid)) is None


def test_a_decision_in_the_future_is_refused(session: Session, seed: ReviewSeed) -> None:
    v0 = seed.info.poor_villages[0]
    o = _one(
        session, seed.strategies[v0][2], "team", seed.teams[v0][0], server_today() + timedelta(1)
    )
    assert not o.verdict.accepted and "in the future" in (o.verdict.refusal or "")


def test_the_window_opens_on_the_server_date(session: Session, seed: ReviewSeed) -> None:
    """Decided on D (months ago, by the minutes); publicised from today, for the full days."""
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][3]
    for stage, who in _stages(seed, v0):
        assert _one(session, hid, stage, who, D).verdict.accepted
    pub = session.scalars(select(Publicity).where(Publicity.subject_id == hid)).one()
    assert pub.opens_on == server_today() and pub.closes_on == server_today() + timedelta(7)


def test_publicity_close_as_of_needs_the_admin_flag_and_is_audited(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][4]
    for stage, who in _stages(seed, v0):
        assert _one(session, hid, stage, who, D).verdict.accepted
    far = "2099-12-31"
    refused = cli("review", "publicity", "close", "--today", far)
    assert refused.exit_code != 0 and "--admin-as-of" in refused.output
    no_reason = cli("review", "publicity", "close", "--today", far, "--admin-as-of", "--by", "王")
    assert no_reason.exit_code != 0
    session.expire_all()
    assert session.scalar(select(Publicity.status).where(Publicity.subject_id == hid)) == "open"
    assert cli("review", "publicity", "close").output.startswith("0 publicity")  # server date
    ok = cli(
        "review", "publicity", "close", "--today", far, "--admin-as-of",
        "--by", "县扶贫办王五", "--reason", "dry run of the year end",
    )  # fmt: skip
    assert ok.exit_code == 0 and "1 publicity window(s) closed" in ok.output
    row = session.scalars(select(AuditEvent).where(AuditEvent.action == "review.as_of")).one()
    assert row.actor == "admin:县扶贫办王五"
    assert row.after == {
        "as_of": far,
        "server_date": str(server_today()),
        "reason": "dry run of the year end",
    }
