"""The procedures' daily flow under the session's Prefect server: on a demo county's
compressed calendar, the 预退出 list opens exit cases, drafted minutes move them to the
publicity window, the window closes on its day, the second minutes announce — the
households exit then, and the notices are artifacts without an ID number. On any other
county the compressed calendar is refused."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import Household

from tests.support.review_fixtures import add_exit_proposals, seed_review

DAY = date(2026, 3, 2)


def _minutes(session: Session, on: date, path: Path) -> Path:
    from zhucun.tasks.procedure_minutes import draft_procedure_minutes, write_procedure_minutes

    rows = draft_procedure_minutes(
        session, county="130624", cycle_year=2026, procedure="exit", decided_on=on
    )
    return write_procedure_minutes(rows, path)


def test_exit_runs_unattended_on_a_demo_calendar(
    session: Session, prefect_harness: object, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from zhucun.flows.procedures import procedures_daily

    seed = seed_review(session, plans=False)
    v0 = seed.info.poor_villages[0]
    households = seed.strategies[v0][:3]
    from zhucun.tasks.common import audit

    audit(
        session, actor="zhucun demo", action="demo-generated", entity="county", entity_id="130624"
    )
    add_exit_proposals(session, v0, households, "2026-02", DAY)
    session.commit()
    out = procedures_daily("130624", 2026, period="2026-02", as_of=str(DAY))
    assert out["proposed"]["opened"] == 3
    first = _minutes(session, DAY, tmp_path / "m1.csv")
    assert len(first.read_text("utf-8").splitlines()) == 1 + 3 * 4  # up to the window
    out = procedures_daily("130624", 2026, decisions=str(first), as_of=str(DAY))
    assert {c["status"]: c["count"] for c in out["cases"]} == {"publicity": 3}
    assert out["notices"] == 1
    later = DAY + timedelta(days=7)
    out = procedures_daily("130624", 2026, as_of=str(later))
    assert out["publicity"]["closed"] == 3
    second = _minutes(session, later, tmp_path / "m2.csv")
    out = procedures_daily("130624", 2026, decisions=str(second), as_of=str(later))
    assert {c["status"]: c["count"] for c in out["cases"]} == {"done": 3}
    assert out["announced_today"] == 3
    session.expire_all()
    statuses = session.exec(
        select(Household.status).where(Household.household_id.in_(households))
    ).all()
    assert {s[0] for s in statuses} == {"exited"}
    with get_client(sync_client=True) as client:
        notices = client.read_latest_artifacts()
    text = " ".join(str(a.data) for a in notices if a.key == "procedure-notices-130624-2026")
    assert "贫困户退出公告" in text and "户主" in text
    assert not any(i in text for i in seed.info.id_numbers.values())


def test_the_compressed_calendar_is_refused_for_a_real_county(
    session: Session, prefect_harness: object
) -> None:
    from zhucun.flows.procedures import procedures_daily

    seed_review(session, plans=False)
    session.commit()
    with pytest.raises(Exception, match="only a demo county"):
        procedures_daily("130624", 2026, as_of=str(DAY))
