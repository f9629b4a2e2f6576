"""What the lifecycle flows share: run tagging by county, progress artifacts, and fanning a
task out over chunks. (Parameter types are in `flows.parameters`.)"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from zhucun.flows.common import artifact_key

# Households per task run of a batched stage: a task run costs Prefect bookkeeping (≈0.1–0.2 s
# here), a chunk's work is a few statements whatever its size, so chunks are large (task runs
# stay under one per 2,000 households) while a chunk's rows still fit comfortably in memory.
HOUSEHOLDS_PER_TASK = 20_000
# The least time between two updates of a stage's progress artifact (the last chunk is shown
# whenever it ends).
PROGRESS_SECONDS = 2.0


def check_period(period: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return period


def previous_month(today: date | None = None) -> str:
    """The default period of a scheduled evaluation: the month that just ended, in China's
    time zone (a 02:00 run on the 1st in Shanghai is still the previous day in UTC)."""
    if today is None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    y, m = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{y:04d}-{m:02d}"


def tag_run(county: str, cycle_year: int | None = None) -> None:
    """Tag the running flow run with the `county:` and `cycle:` of *its parameters* and its
    process (`proc:host:pid:start`), then mark earlier runs of this flow and county whose
    process is gone as Crashed (flows/stale.py).

    A top-level run's tags are fixed at creation: a run started from the UI inherits the
    deployment's tags, whose `county:` is the deployment's default county, not the one
    typed into the form. So a `county:` (or `cycle:`) tag that disagrees with the
    parameters is removed here, not just joined by the right one. Without `cycle_year` the
    run's own `cycle_year` (or `year`) parameter is used, if it has one."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run
    from zhucun.flows.stale import PROC_TAG, crash_stale_runs, process_tag

    rid = flow_run.get_id()
    if not rid:
        return
    if cycle_year is None:
        params = flow_run.get_parameters() or {}
        year = params.get("cycle_year", params.get("year"))
        cycle_year = int(year) if isinstance(year, int | str) and str(year).isdigit() else None
    wanted = [f"county:{county}"] + ([f"cycle:{cycle_year}"] if cycle_year else [])
    prefixes = ("county:", "cycle:") if cycle_year else ("county:",)
    tags = list(flow_run.get_tags() or [])
    keep = [t for t in tags if not t.startswith(prefixes) or t in wanted]
    if (
        all(t in keep for t in wanted)
        and keep == tags
        and any(t.startswith(PROC_TAG) for t in tags)
    ):
        return
    keep = [t for t in keep if not t.startswith(PROC_TAG)]
    with get_client(sync_client=True) as client:
        client.update_flow_run(
            rid, tags=[*keep, *(t for t in wanted if t not in keep), process_tag()]
        )
        crash_stale_runs(client, flow_run.get_flow_name(), county, rid)


class Progress:
    """A progress artifact for a long flow, updated as chunks finish."""

    def __init__(self, *parts: object, total: int, what: str) -> None:
        from prefect.artifacts import create_progress_artifact

        self.total = max(total, 1)
        self.what = what
        self.done = 0
        self.shown = time.monotonic()
        self.id = create_progress_artifact(
            progress=0.0,
            key=artifact_key(*parts, "progress"),
            description=f"{what}: 0 of {total} chunks",
        )

    def step(self, n: int = 1) -> None:
        """Move the bar: the last chunk always, otherwise at most once per
        `PROGRESS_SECONDS` (a province's stage has some 60 chunks a few seconds apart: an
        update each was a call to the server, whose CPU the stages share)."""
        from prefect.artifacts import update_progress_artifact

        self.done += n
        now = time.monotonic()
        if self.done < self.total and now - self.shown < PROGRESS_SECONDS:
            return
        self.shown = now
        update_progress_artifact(
            artifact_id=self.id,
            progress=round(100.0 * self.done / self.total, 1),
            description=f"{self.what}: {self.done} of {self.total} chunks",
        )


def fan_out(
    task: Any,
    chunks: list[Any],
    progress: Progress,
    make_kwargs: Callable[[int, Any], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Submit one task run per chunk on the flow's bounded runner and collect the results in
    chunk order, moving the progress artifact as each one finishes. A failed chunk fails the
    flow after the others finished (their work is committed: a re-run completes the rest)."""
    from prefect.futures import as_completed

    futures = [task.submit(**make_kwargs(i, c)) for i, c in enumerate(chunks)]
    errors: list[BaseException] = []
    for f in as_completed(futures):
        try:
            f.result()
        except Exception as exc:  # noqa: BLE001 - re-raised below after the others
            errors.append(exc)
        progress.step()
    if errors:
        raise errors[0]
    return [f.result() for f in futures]


def run_per_chunk(
    task: Any,
    scope: Any,
    stage: str,
    when: object,
    what: str,
    households_per_task: int | None = None,
    **fixed: Any,
) -> list[dict[str, Any]]:
    """The shape of every batched stage: tag the run with its county, split the scope into
    chunks of villages (about `households_per_task` households each, default the batch
    size), and run `task` once per chunk (with `fixed` keyword arguments, e.g. the cycle
    year) behind a progress artifact keyed by stage, scope and `when`."""
    from zhucun.tasks.lifecycle_db import scope_chunks

    tag_run(scope.county)
    chunks = scope_chunks(scope.county, scope.villages, households_per_task=households_per_task)
    progress = Progress(stage, scope.label, when, total=len(chunks), what=what)
    return fan_out(
        task,
        chunks,
        progress,
        lambda i, c: dict(county=scope.county, villages=c, chunk_no=i, **fixed),
    )
