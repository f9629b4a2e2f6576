"""Village exit review: the rule (厅字〔2016〕16号: incidence below 2%, 3% in the west;
publicity in the township, then the announcement), its task on a real SQLite database, and
the flow under the Prefect harness (the target of the exit-eligible automation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlmodel import Session
from zhucun.flows.scheduled import local_year, previous_period
from zhucun.models import AuditEvent, Village, VillageStatus

from tests.support.county import seed_county
from zhucun.policy import default_policy
from zhucun.rules.village_exit import review_village_exit

VILLAGE = {
    "road_paved": True, "safe_water": True, "electricity": True, "broadband": False,
    "clinic": True, "school": True, "cultural_center": True,
    "collective_income_yuan": 0.0, "main_industries": ["tea"],
}  # fmt: skip


def test_central_village_at_1_9_percent_may_exit_and_opens_township_publicity() -> None:
    """A central-region village at 1.9% is under the national 2% line: publicity opens for
    the policy's publicity days (7), and the gaps the township also weighs are listed."""
    policy = default_policy(2026, "central")
    r = review_village_exit("430524101001", "2026-10", 0.019, policy, VILLAGE)
    assert r.eligible and r.next_step == "open_publicity"
    assert r.threshold == 0.02 and r.publicity_days == policy.publicity_days
    assert r.gaps == ["broadband", "collective_income"]
    assert "1.90% < threshold 2%" in r.reason


def test_exactly_2_percent_is_not_below_the_line_so_the_village_stays_poor() -> None:
    """The rule says *below* 2% (低于2%): a village at exactly 2.00% does not exit."""
    r = review_village_exit("430524101001", "2026-10", 0.02, default_policy(2026, "central"))
    assert not r.eligible and r.next_step == "remain_poor"


def test_western_village_at_2_5_percent_exits_but_a_central_one_does_not() -> None:
    """West: below 3% (e.g. Xinjiang's 653222 Moyu county); central: below 2%."""
    west = review_village_exit("653222101001", "2026-10", 0.025, default_policy(2026, "west"))
    central = review_village_exit("430524101001", "2026-10", 0.025, default_policy(2026, "central"))
    assert west.eligible and west.threshold == 0.03
    assert not central.eligible


def test_previous_period_is_the_month_before_in_beijing_time_not_utc() -> None:
    """The monthly schedule fires at 02:00 on the 1st in Asia/Shanghai = 18:00 UTC on the
    last day of the month before: the period is that month (Feb), not January."""
    assert previous_period(datetime(2026, 2, 28, 18, 0, tzinfo=UTC)) == "2026-02"
    assert previous_period(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "2025-12"
    assert local_year(datetime(2025, 12, 31, 17, 0, tzinfo=UTC)) == 2026


def _status(session: Session, village: str, period: str, incidence: float) -> None:
    session.execute(
        insert(VillageStatus),
        [dict(village_code=village, period=period, poverty_incidence=incidence,
              exit_eligible=incidence < 0.02)],
    )  # fmt: skip


def _audit_rows(session: Session, village: str, period: str) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "village_exit_review",
            AuditEvent.entity_id == f"{village}:{period}",
        )
    )  # fmt: skip


def test_review_task_audits_once_and_again_only_when_the_outcome_changes(
    session: Session,
) -> None:
    from zhucun.flows.village_exit import review_exit

    info = seed_county(session)
    village = info.poor_villages[0]
    _status(session, village, "2026-10", 0.012)
    session.commit()

    first = review_exit.fn(village, "2026-10")
    second = review_exit.fn(village, "2026-10")
    assert first["review"]["eligible"] and first["audit_recorded"]
    assert not second["audit_recorded"]
    assert _audit_rows(session, village, "2026-10") == 1
    assert first["township_name"] == "阜平镇"

    # the evaluation was re-run and the village is no longer under the line
    session.execute(
        VillageStatus.__table__.update()
        .where(VillageStatus.village_code == village)
        .values(poverty_incidence=0.031)
    )
    session.commit()
    third = review_exit.fn(village, "2026-10")
    assert third["audit_recorded"] and third["review"]["next_step"] == "remain_poor"
    assert _audit_rows(session, village, "2026-10") == 2


def test_review_task_refuses_a_period_without_an_evaluation(session: Session) -> None:
    from zhucun.flows.village_exit import review_exit

    info = seed_county(session)
    session.commit()
    with pytest.raises(LookupError, match="no evaluation"):
        review_exit.fn(info.poor_villages[0], "2026-10")


def test_village_exit_review_flow_accepts_an_int_code_and_is_idempotent(
    session: Session, prefect_harness: None
) -> None:
    """`prefect deployment run -p village_code=130624100200` sends an int: the flow takes
    it as the string code; a second run appends no audit row; each run leaves the artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
    from zhucun.flows.village_exit import village_exit_review

    info = seed_county(session)
    village = info.poor_villages[0]
    _status(session, village, "2026-09", 0.015)
    session.commit()
    assert session.get(Village, village) is not None

    params = village_exit_review.validate_parameters(
        {"village_code": int(village), "period": "2026-09"}
    )
    assert params["village_code"] == village
    out = village_exit_review(**params)
    again = village_exit_review(village_code=village, period="2026-09")
    assert out["eligible"] and out["audit_recorded"] and not again["audit_recorded"]
    assert _audit_rows(session, village, "2026-09") == 1

    with get_client(sync_client=True) as client:
        art = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=[f"village-exit-review-{village}-2026-09"])
            )
        )
    assert art and "publicity to open in township" in art[0].data
    assert "1.50% < threshold 2%" in art[0].data
