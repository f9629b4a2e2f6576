"""Subflows of a parent flow run without a heartbeat thread of their own (flows.common.subflows):
Prefect 3.9 joins that thread when a run ends and it sleeps in one-second steps, so each of a
cycle's six stages ended up to a second late. The parent keeps its heartbeat."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow
from prefect.runtime import flow_run


@flow
def _child() -> str:
    return str(flow_run.get_id())


@flow
def _parent() -> tuple[str, str, str]:
    from zhucun.flows.common import subflows

    with subflows():
        inside = _child()
    return str(flow_run.get_id()), inside, _child()


def _heartbeats(since: datetime, wanted: set[str], timeout: float = 20.0) -> set[str]:
    """Flow run ids with a heartbeat event since `since`, polled until `wanted` are seen
    (events reach the API asynchronously)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                    occurred=EventOccurredFilter(since=since),
                ),
                limit=50,
            )
            seen = {e.resource.id.removeprefix("prefect.flow-run.") for e in page.events}
            if wanted <= seen or time.monotonic() > deadline:
                return seen
            time.sleep(0.5)


def test_a_stage_started_inside_the_block_sends_no_heartbeat_and_the_parent_does(
    prefect_harness: None,
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    parent, inside, outside = _parent()
    seen = _heartbeats(since, {parent, outside})
    assert {parent, outside} <= seen  # Prefect's default: every flow run heartbeats
    assert inside not in seen  # inside the block: no heartbeat thread to wait for


def test_the_monthly_evaluation_runs_its_two_stages_without_heartbeats_of_their_own(
    session: Any, data_dir: object, prefect_harness: None
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from zhucun.flows.scheduled import monthly_progress_evaluation

    from tests.support.county import COUNTY, seed_county

    seed_county(session)
    session.commit()
    since = datetime.now(UTC) - timedelta(seconds=1)
    state = monthly_progress_evaluation(COUNTY, "2026-06", return_state=True)
    assert state.is_completed()
    parent = str(state.state_details.flow_run_id)
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent])
            )
        )
    assert len(children) == 2  # evaluate-progress, monitor-relapse
    seen = _heartbeats(since, {parent})
    assert parent in seen and not {str(r.id) for r in children} & seen
