"""Nothing personal leaves, even on failure (issue 10, point 4).

Two real failures of the `review-cycle` flow under the Prefect harness: a PostgreSQL lock
timeout (another connection holds the tables; the run's sessions have lock_timeout 200 ms)
and a decisions file whose reviewer_id is an ID number. Then everything the Prefect API
holds for those runs — flow-run and task-run states (messages, data), parameters, logs,
artifacts, events — is searched for the county's ID numbers and phone numbers: none."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlmodel import Session, SQLModel
from zhucun.models import Household

from tests.support.review_fixtures import ReviewSeed, seed_review
from zhucun.policy import seed_policy
from zhucun.settings import reset_settings

YEAR = 2026
pytestmark = pytest.mark.usefixtures("prefect_harness")


def _personal_numbers(session: Session, seed: ReviewSeed) -> set[str]:
    """Every ID number of the county, and the phone numbers planted on its households."""
    numbers = set(seed.info.id_numbers.values())
    numbers |= {h for h in session.scalars(select(Household.head_id_number)) if h}
    phones = [f"1391234{n:04d}" for n in range(len(seed.info.poor_households))]
    for hid, phone in zip(seed.info.poor_households, phones, strict=True):
        session.execute(update(Household).where(Household.household_id == hid).values(phone=phone))
    return numbers | set(phones)


async def _everything(flow_run_id: UUID, since: datetime) -> dict[str, Any]:
    """What the Prefect API holds for a flow run (and, for events, for the whole test)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.events.filters import EventFilter, EventOccurredFilter

    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        states = await client.read_flow_run_states(flow_run_id)
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
        task_states = [await client.read_task_run_states(t.id) for t in task_runs]
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        page = await client.read_events(
            EventFilter(occurred=EventOccurredFilter(since=since)), limit=50
        )
        events = list(page.events)
        while page.next_page:
            page = await client.read_events_page(str(page.next_page))
            events += page.events
    dump = [run, *states, *task_runs, *[s for ss in task_states for s in ss], *artifacts]
    return {
        "objects": [o.model_dump(mode="json") for o in dump],
        "logs": [log.model_dump(mode="json") for log in logs],
        "events": [e.model_dump(mode="json") for e in events],
        "run": run,
        "task_runs": task_runs,
    }


def _wait_for(flow_run_id: UUID, since: datetime, needle: str) -> dict[str, Any]:
    """Logs and events reach the API in batches: poll until the failure's log is there."""
    held: dict[str, Any] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        held = asyncio.run(_everything(flow_run_id, since))
        if any(needle in log["message"] for log in held["logs"]) and held["events"]:
            return held
        time.sleep(0.5)
    return held


def _leaks(held: dict[str, Any], numbers: set[str]) -> list[str]:
    blob = json.dumps([held["objects"], held["logs"], held["events"]], ensure_ascii=False)
    return sorted(n for n in numbers if n in blob)


@pytest.fixture
def pg_seed(postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN201
    monkeypatch.setenv("ZHUCUN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ZHUCUN_DATABASE_URL", postgres_url)
    monkeypatch.setenv("ZHUCUN_DB_LOCK_TIMEOUT_MS", "200")
    reset_settings()
    from zhucun.db import get_engine

    engine = get_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        seed_policy(s)
        seed = seed_review(s, villages=1, households_per_village=4)
        numbers = _personal_numbers(s, seed)
        s.commit()
    yield postgres_url, seed, numbers
    reset_settings()


def test_a_lock_timeout_leaves_no_id_number_in_prefect(
    pg_seed: tuple[str, ReviewSeed, set[str]],
) -> None:
    from zhucun.flows.review import review_cycle

    url, seed, numbers = pg_seed
    since = datetime.now(UTC) - timedelta(seconds=5)
    tables = ", ".join(f'"{t}"' for t in SQLModel.metadata.tables)
    holder = create_engine(url)
    with holder.connect() as conn:  # another session holds every table until the run failed
        conn.execute(text(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"))
        state = review_cycle(
            "130624", YEAR, [seed.info.poor_villages[0]], wait=False, return_state=True
        )
        conn.rollback()
    holder.dispose()
    assert state.is_failed()
    held = _wait_for(state.state_details.flow_run_id, since, "SQLSTATE 55P03")
    failed = [t for t in held["task_runs"] if t.state_type.value == "FAILED"]
    assert failed, "the run must have failed in a task"
    message = failed[0].state.message
    assert "SQLSTATE 55P03 (lock timeout)" in message and "database error in" in message
    assert "[SQL:" not in message and "parameters" not in message  # not the driver's text
    assert held["events"] and held["logs"]
    assert _leaks(held, numbers) == []


def test_an_id_number_typed_as_reviewer_leaves_no_trace_in_prefect(
    session: Session, tmp_path: Path
) -> None:
    from zhucun.flows.review import review_cycle

    seed = seed_review(session, villages=1, households_per_village=4)
    numbers = _personal_numbers(session, seed)
    session.commit()
    v0 = seed.info.poor_villages[0]
    typed = next(iter(sorted(seed.info.id_numbers.values())))
    f = tmp_path / "decisions.csv"
    f.write_text(
        "stage,subject,subject_id,reviewer_id,decision,reason,decided_on\n"
        f"team,strategy,{seed.strategies[v0][0]},{typed},approve,,{date.today()}\n",
        encoding="utf-8",
    )
    since = datetime.now(UTC) - timedelta(seconds=5)
    state = review_cycle("130624", YEAR, [v0], decisions_file=str(f), return_state=True)
    assert state.is_failed()
    assert typed[:6] + "********" + typed[-4:] in state.message  # masked, still recognisable
    held = _wait_for(state.state_details.flow_run_id, since, "refused")
    assert held["events"] and held["logs"]
    assert any("review-file" in (o.get("key") or "") for o in held["objects"])  # the artifact
    assert _leaks(held, numbers) == []
