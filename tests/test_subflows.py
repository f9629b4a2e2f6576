"""Subflows of a parent flow run without a heartbeat thread of their own (flows.common.subflows):
Prefect 3.9 joins that thread when a run ends and it sleeps in one-second steps, so each of a
cycle's six stages ended up to a second late. The parent keeps its heartbeat."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

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
