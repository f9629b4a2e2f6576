"""The same work as one pass of `benchmarks/scale.py`, without Prefect: every stage's task
functions (`task.fn`) called in the order and with the chunks the flows use, on a copy of
the database taken right after the import. `scale.py` runs it in a child process and sets
the orchestration share against it: (wall with Prefect − wall without) / wall with Prefect.

    python benchmarks/scale_plain.py DB.sqlite --counties 522626 --year 2026 [--minutes DIR]

Prints one JSON line: seconds per stage, summed over counties. What it leaves out is only
Prefect's: flow and task runs, states, artifacts, events, the progress artifact updates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def plain_county(
    county: str,
    year: int,
    evaluation: bool,
    minutes: Path | None,
    seconds: dict[str, float],
) -> None:
    from zhucun.flows.causes import CAUSES_PER_TASK
    from zhucun.flows.lifecycle_common import HOUSEHOLDS_PER_TASK
    from zhucun.flows.plans import GROUPS_PER_TASK
    from zhucun.tasks.analysis import analyse_villages_task
    from zhucun.tasks.causes import assess_causes_task
    from zhucun.tasks.dispatch import (
        dispatch_chunks_task,
        dispatch_summary_task,
        dispatch_villages_task,
    )
    from zhucun.tasks.evaluation import evaluate_progress_task, monitor_relapse_task
    from zhucun.tasks.lifecycle_db import scope_chunks
    from zhucun.tasks.monitoring_picture import monitoring_picture_task
    from zhucun.tasks.plans import draft_plan_groups_task, sponsor_groups_task
    from zhucun.tasks.review import (
        apply_file_task,
        close_publicity_task,
        dashboard_task,
        pending_task,
        sync_task,
    )
    from zhucun.tasks.strategies import draft_strategies_task

    def timed(stage: str, work: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        work()
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - t0

    def per_chunk(task: Any, size: int, arg: Any) -> Callable[[], Any]:
        """The flows' run_per_chunk: task(county, year or period, villages, chunk_no)."""

        def run() -> None:
            for i, chunk in enumerate(scope_chunks.fn(county, None, households_per_task=size)):
                task.fn(county, arg, chunk, i)

        return run

    def dispatch() -> None:
        for i, chunk in enumerate(dispatch_chunks_task.fn(county, year, None, False)):
            dispatch_villages_task.fn(county, year, chunk, i, False)
        dispatch_summary_task.fn(county, year, None)

    def plans() -> None:
        groups = sponsor_groups_task.fn(county, year, None)
        for i in range(0, len(groups), GROUPS_PER_TASK):
            draft_plan_groups_task.fn(county, year, groups[i : i + GROUPS_PER_TASK], i)

    def review() -> None:
        close_publicity_task.fn(county)
        per_chunk(sync_task, HOUSEHOLDS_PER_TASK, year)()
        pending_task.fn(county, year, None)
        dashboard_task.fn(county, year)

    timed("causes", per_chunk(assess_causes_task, CAUSES_PER_TASK, year))
    timed("analysis", per_chunk(analyse_villages_task, HOUSEHOLDS_PER_TASK, year))
    timed("dispatch", dispatch)
    timed("plans", plans)
    timed("strategies", per_chunk(draft_strategies_task, HOUSEHOLDS_PER_TASK, year))
    timed("review", review)
    if minutes is not None and (path := minutes / f"minutes-{county}-{year}.csv").exists():
        applied = {}
        timed("review-file", lambda: applied.update(apply_file_task.fn(county, year, str(path))))
        if not applied.get("ok"):
            print(f"minutes of {county} refused on the copy", file=sys.stderr)
    if evaluation:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from scale import latest_period

        if period := latest_period(county):
            timed("evaluation", per_chunk(evaluate_progress_task, HOUSEHOLDS_PER_TASK, period))
            monitor = per_chunk(monitor_relapse_task, HOUSEHOLDS_PER_TASK, period)

            def monitoring() -> None:  # the flow's chunks, then its county picture
                monitor()
                monitoring_picture_task.fn(county, period)

            timed("monitoring", monitoring)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("db", type=Path, help="the SQLite copy to run on")
    ap.add_argument("--counties", nargs="+", required=True)
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--minutes", type=Path, help="folder of minutes-<county>-<year>.csv")
    ap.add_argument("--no-evaluation", action="store_true")
    args = ap.parse_args()
    os.environ["ZHUCUN_DATABASE_URL"] = f"sqlite:///{args.db}"
    sys.path.insert(0, str(ROOT))
    from zhucun.tasks import dispatch_pool

    # The flow run keeps the cadre pool between dispatch chunks; so does this pass.
    dispatch_pool.current_flow_run_id = lambda: "plain-pass"  # type: ignore[assignment]
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    for county in args.counties:
        plain_county(county, args.year, not args.no_evaluation, args.minutes, seconds)
    seconds["total"] = time.perf_counter() - t0
    print(json.dumps(seconds))


if __name__ == "__main__":
    main()
