"""Procedure stages decided in the Prefect UI (flows/procedure_forms.py) under the session's
Prefect server: an exit run pauses with the 民主评议 form, a submission without the tally is
refused and shown on the next form, the tally carries it; the committee, the team and the
households' acknowledgements follow, each by another person, through the same ledger as
the CLI; the run ends when only the publicity window is left. A monitoring identification
takes the same flow: 承诺授权 (who of the household consented), then the appraisal."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import Decision, Household, ProcedureCase

from tests.support.review_fixtures import add_exit_proposals, seed_review
from tests.test_flow_review import _paused_run, _resume

DAY = date(2026, 3, 2)


def test_exit_stages_are_decided_on_the_form(session: Session, prefect_harness: object) -> None:
    from zhucun.flows.procedure_forms import procedure_forms
    from zhucun.tasks.procedures import propose_exits

    seed = seed_review(session, villages=1, households_per_village=4, plans=False)
    v0 = seed.info.poor_villages[0]
    households = seed.strategies[v0][:2]
    add_exit_proposals(session, v0, households, "2026-02", DAY)
    assert propose_exits(session, "130624", "2026-02", today=DAY)["opened"] == 2
    session.commit()
    officials = seed.officials(v0)
    heads = dict(
        session.execute(
            select(Household.household_id, Household.head_name).where(
                Household.household_id.in_(households)
            )
        ).all()
    )

    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = procedure_forms("130624", 2026, procedure="exit", poll_seconds=1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    name, seen = "procedure-forms-exit-130624-2026", set[UUID]()

    def form() -> tuple[UUID, str]:
        run_id, state_id, desc = _paused_run(name, seen)
        seen.add(state_id)
        return run_id, desc

    run_id, desc = form()
    assert "贫困户退出 · 民主评议" in desc and all(h in desc for h in households)
    assert "到会" in desc and heads[households[0]] in desc
    _resume(run_id, {"reviewer_id": officials["party_secretary"], "approve_all": True})
    run_id, desc = form()  # no tally: refused for both, shown on the form
    assert "Last submission refused" in desc and "tally is missing" in desc
    tally = {"representatives": 30, "present": 24, "in_favour": 22}
    _resume(run_id, {"reviewer_id": officials["party_secretary"], "approve_all": True, **tally})
    run_id, desc = form()
    assert "村两委核实" in desc
    _resume(run_id, {"reviewer_id": officials["committee_director"], "approve_all": True})
    run_id, desc = form()
    assert "入户核实" in desc
    _resume(run_id, {"reviewer_id": seed.teams[v0][0], "approve_all": True})
    run_id, desc = form()
    assert "拟退出户认可" in desc and "签字认可" in desc
    acks = [{"subject_id": h, "acknowledged_by": heads[h]} for h in households]
    _resume(run_id, {"reviewer_id": seed.teams[v0][1], "decisions": acks})
    t.join(120)
    assert "error" not in out, out.get("error")
    assert out["result"] == {
        "procedure": "exit",
        "forms": 5,
        "accepted": 8,
        "refused": 2,
    }
    session.expire_all()
    assert set(
        session.scalars(select(ProcedureCase.status).where(ProcedureCase.procedure == "exit"))
    ) == {"publicity"}
    rows = list(session.scalars(select(Decision).where(Decision.subject == "exit")))
    assert {r.channel for r in rows} == {"ui"} and all(r.flow_run_id == str(run_id) for r in rows)
    appraised = [r for r in rows if r.stage == "appraisal" and r.outcome == "accepted"]
    assert [r.details for r in appraised] == [tally, tally]
    acknowledged = [r.details for r in rows if r.stage == "acknowledge"]
    assert sorted(d["acknowledged_by"] for d in acknowledged) == sorted(heads.values())

    # monitoring identification, the same flow: its 入户核实+承诺授权 is an acknowledge-kind
    # stage (who of the household consented), the cross-check runs by itself, then the
    # appraisal with its tally; the run ends at the publicity window
    from zhucun.tasks.monitoring_procedures import open_monitor
    from zhucun.tasks.review_load import policy_for

    edge = next(h for h in seed.info.households if h not in seed.info.poor_households)
    village = next(v for v in seed.info.villages if edge.startswith(f"H{v[-3:]}"))
    policy = policy_for(session, "130624", 2026)
    assert open_monitor(session, [{"subject_id": edge, "village_code": village}], policy=policy,
                        today=DAY) == 1  # fmt: skip
    head = session.scalar(select(Household.head_name).where(Household.household_id == edge))
    session.commit()
    out.clear()
    t = threading.Thread(
        target=lambda: out.update(
            result=procedure_forms("130624", 2026, procedure="monitor", poll_seconds=1)
        ),
        daemon=True,
    )
    t.start()
    name = "procedure-forms-monitor-130624-2026"
    run_id, desc = form()
    assert "防止返贫监测对象识别 · 入户核实、农户承诺授权" in desc and edge in desc
    sign = [{"subject_id": edge, "acknowledged_by": head}]
    _resume(run_id, {"reviewer_id": seed.officials(village)["committee_member"], "decisions": sign})
    run_id, desc = form()
    assert "村民主评议" in desc and edge in desc
    secretary = seed.officials(village)["party_secretary"]
    _resume(run_id, {"reviewer_id": secretary, "approve_all": True, **tally})
    t.join(120)
    assert out.get("result") == {"procedure": "monitor", "forms": 2, "accepted": 2, "refused": 0}
    assert (
        session.scalar(select(ProcedureCase.status).where(ProcedureCase.procedure == "monitor"))
        == "publicity"
    )
    signed = session.scalar(
        select(Decision.details).where(Decision.subject == "monitor", Decision.stage == "visit")
    )
    assert signed == {"acknowledged_by": head}
