"""Measure delivery recorded in the Prefect UI (flows/delivery_forms.py) under the session's
Prefect server: the village's form lists the open measures of the strategies in force (the
head's name masked, measures in Chinese); a recorder who is neither the household's helper
nor in the village's team is refused by `tasks.delivery.record` (the CLI's engine), nothing
is written and the reason is on the next form; the helper's submission is recorded, seen by
`zhucun measures list` and by the exit proposal's delivered-measure condition."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import AuditEvent, Household, Strategy
from zhucun.models.enums import MEASURE_ZH
from zhucun.models.lifecycle import HelperAssignment, MeasureDelivery

from tests.support.review_fixtures import seed_review
from tests.test_flow_review import _paused_run, _resume
from zhucun.privacy import mask_name


def test_delivery_recorded_on_the_form(session: Session, prefect_harness: object) -> None:
    from zhucun.flows.delivery_forms import measure_delivery_forms
    from zhucun.tasks.delivery import propose_exits
    from zhucun.tasks.review_load import policy_for
    from zhucun.tasks.review_lock import server_today

    from zhucun.rules.exit import EXIT_MEASURE_DELIVERED

    today = server_today()
    seed = seed_review(session, villages=1, households_per_village=4, plans=False)
    v0 = seed.info.poor_villages[0]
    hid, other = seed.strategies[v0][:2]
    session.execute(
        update(Strategy)
        .where(Strategy.household_id.in_([hid, other]))
        .values(status="approved", approved_on=today - timedelta(days=20))
    )
    helper, outsider = seed.info.cadres[5], seed.info.cadres[40]
    session.add(HelperAssignment(household_id=hid, cycle_year=2026, cadre_id=helper,
                                 village_code=v0))  # fmt: skip
    session.commit()
    head = session.scalar(select(Household.head_name).where(Household.household_id == hid))
    measure = session.scalar(select(Strategy.measures).where(Strategy.household_id == hid))[0]

    out: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: out.update(
            result=measure_delivery_forms("130624", 2026, village=v0, poll_seconds=1)
        ),
        daemon=True,
    )
    t.start()
    name, seen = "delivery-forms-130624-2026", set[UUID]()

    def form() -> tuple[UUID, str]:
        run_id, state_id, desc = _paused_run(name, seen)
        seen.add(state_id)
        return run_id, desc

    run_id, desc = form()
    assert "措施落实登记" in desc and hid in desc and other in desc
    assert mask_name(head) in desc and head not in desc
    assert f"{MEASURE_ZH[measure]}（{measure}）" in desc and "未启动" in desc and helper in desc
    entry = {"household_id": hid, "measure": measure, "current": "planned",
             "state": "delivered", "spent_yuan": 3800, "note": "签约 13812345678"}  # fmt: skip
    _resume(run_id, {"recorded_by": outsider, "entries": [entry]})
    run_id, desc = form()  # refused: nothing written, the reason on the form
    assert "上次提交未通过" in desc and "neither the household's helper" in desc
    assert session.scalars(select(MeasureDelivery)).all() == []
    _resume(run_id, {"recorded_by": helper, "entries": [entry]})
    t.join(60)
    assert out.get("result") == {"forms": 2, "written": 1, "refused": 1}, out

    session.expire_all()
    row = session.scalars(select(MeasureDelivery)).one()
    assert (row.household_id, row.state, row.spent_yuan, row.recorded_by, row.state_on) == (
        hid, "delivered", 3800.0, helper, today)  # fmt: skip
    assert "13812345678" not in row.note
    audits = session.scalars(select(AuditEvent).where(AuditEvent.action.like("measure_%"))).all()
    assert {a.action for a in audits} == {"measure_delivery", "measure_delivery_form"}
    assert all(a.flow_run_id == str(run_id) for a in audits)
    assert not any(head in json.dumps(a.after, ensure_ascii=False) for a in audits)

    from zhucun.cli import app

    res = CliRunner().invoke(app, ["measures", "list", "--year", "2026", "--household", hid,
                                   "--json"])  # fmt: skip
    assert {r["measure"]: r["state"] for r in json.loads(res.output)}[measure] == "delivered"
    policy = policy_for(session, "130624", 2026)
    got = propose_exits(session, period="2026-12", end=today, policy=policy,
                        candidates=[(hid, v0)])  # fmt: skip
    assert EXIT_MEASURE_DELIVERED not in got["not_proposed"]
    got = propose_exits(session, period="2026-12", end=today, policy=policy,
                        candidates=[(other, v0)])  # fmt: skip
    assert EXIT_MEASURE_DELIVERED in got["not_proposed"]
    session.rollback()
