"""Automations from code, on a real Prefect server started by `zhucun up`: created once and
idempotent; an emitted `zhucun.village.exit-eligible` event runs the village exit review;
a `zhucun.review.overdue` event lands in the offline notification sink."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlmodel import Session
from zhucun.deployments.automations import EXIT_ELIGIBLE, REVIEW_OVERDUE, automation_specs
from zhucun.models import AuditEvent, VillageStatus

from tests.support.county import seed_county
from tests.support.stack import api, app_engine, local_stack, prefect_cli, wait_for_runs


def test_automation_specs_carry_the_village_and_period_from_the_event() -> None:
    import uuid

    specs = {s.name: s for s in automation_specs(uuid.uuid4(), uuid.uuid4())}
    exit_review = specs["zhucun-village-exit-review"]
    assert exit_review.trigger.expect == {EXIT_ELIGIBLE}
    params = exit_review.actions[0].parameters
    assert params == {
        "village_code": "{{ event.payload.village }}",
        "period": "{{ event.payload.period }}",
    }
    assert specs["zhucun-review-overdue-notify"].trigger.expect == {REVIEW_OVERDUE}
    assert "zhucun-dispatch-shortage-notify" in specs
    # the monitoring clocks' events notify the township (same names as the flow emits)
    from zhucun.flows.monitoring_clock import CASE_WITHOUT_MEASURE, CLUE_OVERDUE

    assert specs["zhucun-monitoring-clue-overdue-notify"].trigger.expect == {CLUE_OVERDUE}
    no_measure = specs["zhucun-monitoring-no-measure-notify"]
    assert no_measure.trigger.expect == {CASE_WITHOUT_MEASURE}
    action = no_measure.actions[0]
    assert "payload" in action.body and "township" in action.subject
    # without a notification block only the exit review is created
    assert [s.name for s in automation_specs(uuid.uuid4(), None)] == [exit_review.name]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("automations") / "data"
    with local_stack(data_dir) as state:
        state["data_dir"] = data_dir
        yield state


@pytest.mark.slow
def test_automations_are_created_once_and_reapplying_changes_nothing(
    stack: dict[str, Any],
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from zhucun.deployments.automations import ensure_automations

    with temporary_settings(updates={PREFECT_API_URL: stack["api_url"]}):
        again = ensure_automations(stack["notify_url"])
    assert {r.action for r in again} == {"unchanged"}
    names = [a["name"] for a in api(stack["api_url"], "/automations/filter", {})]
    assert sorted(names) == sorted(stack["automations"])
    assert len(names) == len(set(names)) == 5


@pytest.mark.slow
def test_exit_eligible_event_runs_the_village_exit_review(stack: dict[str, Any]) -> None:
    engine = app_engine(stack["data_dir"])
    with Session(engine) as s:
        village = seed_county(s).poor_villages[0]
        s.execute(
            insert(VillageStatus),
            [
                dict(
                    village_code=village,
                    period="2026-10",
                    poverty_incidence=0.012,
                    exit_eligible=True,
                )
            ],
        )
        s.commit()
    payload = {"county": village[:6], "period": "2026-10", "village": village}
    out = prefect_cli(
        stack,
        "event",
        "emit",
        EXIT_ELIGIBLE,
        "--resource-id",
        f"zhucun.village.{village}",
        "--payload",
        json.dumps(payload),
    )
    assert out.returncode == 0, out.stdout + out.stderr

    runs = wait_for_runs(stack["api_url"], {"name": {"like_": f"village-exit-review-{village}"}})
    assert [r["state_type"] for r in runs] == ["COMPLETED"]
    assert runs[0]["parameters"] == {"village_code": village, "period": "2026-10"}
    with Session(engine) as s:
        after = s.scalars(
            select(AuditEvent.after).where(
                AuditEvent.entity == "village_exit_review",
                AuditEvent.entity_id == f"{village}:2026-10",
            )
        ).all()
    assert len(after) == 1 and after[0]["next_step"] == "open_publicity"
    arts = api(
        stack["api_url"],
        "/artifacts/filter",
        {"artifacts": {"flow_run_id": {"any_": [runs[0]["id"]]}}},
    )
    assert any("publicity to open in township" in (a["data"] or "") for a in arts)


@pytest.mark.slow
def test_overdue_review_event_notifies_through_the_local_sink(stack: dict[str, Any]) -> None:
    out = prefect_cli(
        stack,
        "event",
        "emit",
        REVIEW_OVERDUE,
        "--resource-id",
        "zhucun.county.130624",
        "--payload",
        '{"county": "130624", "overdue": 2}',
    )
    assert out.returncode == 0, out.stdout + out.stderr
    sink: Path = stack["data_dir"] / "logs" / "notifications.jsonl"
    deadline = time.monotonic() + 90
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not lines:
        if sink.exists():
            lines = [json.loads(x) for x in sink.read_text("utf-8").splitlines()]
        time.sleep(1)
    assert lines, "no notification reached the sink"
    assert lines[-1]["subject"] == "zhucun: review overdue"
    assert "zhucun.county.130624" in lines[-1]["body"] and '"overdue": 2' in lines[-1]["body"]
