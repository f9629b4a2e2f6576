"""What every flow shares: a bounded task runner, artifact keys, events with safe payloads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import zhucun.tasks.safety  # noqa: F401 - masks personal numbers in every log record

from zhucun.settings import get_settings


def task_runner():  # noqa: ANN201 - prefect type imported lazily
    """A thread pool with a bound (an unbounded pool would open a DB connection per task).
    On SQLite one worker: a database has one writer, and two chunks' write transactions
    only queue on its lock (strategy inserts took 24 s with two workers, 2.7 s alone)."""
    from prefect.task_runners import ThreadPoolTaskRunner

    settings = get_settings()
    sqlite = settings.effective_database_url.startswith("sqlite")
    return ThreadPoolTaskRunner(max_workers=1 if sqlite else settings.task_workers)


@contextmanager
def subflows() -> Iterator[None]:
    """Subflows started inside this block send no heartbeat of their own.

    Why: Prefect 3.9 ends every flow run by joining its heartbeat thread, which sleeps in
    one-second steps, so each subflow finished up to a second late (0.7 s on average here,
    against 0.4 s for all the rest of a subflow's bookkeeping; six stages a county). The
    parent keeps its heartbeat, so a dead process is still seen, and zhucun marks the runs
    of a process that is gone Crashed itself (`flows.stale`)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def artifact_key(*parts: object) -> str:
    """A stable artifact key (`^[a-z0-9-]*$`), e.g. ('dispatch', '522626', 2026) →
    'dispatch-522626-2026', so the Artifacts page shows one history per county and cycle."""
    raw = "-".join(str(p) for p in parts).lower()
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw)).strip("-")


_FORBIDDEN_PAYLOAD = re.compile(r"\d{17}[\dXx]")


def emit(
    event: str,
    resource_id: str,
    payload: dict[str, Any] | None = None,
    related: list[dict[str, str]] | None = None,
) -> None:
    """Emit a Prefect event with a non-personal payload (an ID number in it is a bug)."""
    from prefect.events import emit_event

    payload = payload or {}
    if _FORBIDDEN_PAYLOAD.search(repr(payload)):
        raise ValueError(f"event {event} payload would carry an ID number")
    emit_event(
        event=event,
        resource={"prefect.resource.id": resource_id},
        related=related or [],
        payload=payload,
    )
