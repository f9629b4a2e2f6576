"""Benchmark the assistance cycle and the progress evaluation on a generated county.

    python benchmarks/cycle_benchmark.py [--households 50000] [--county 522626] [--year 2026]

Generates a county with N registered poor households (`zhucun.generator`), imports it into
a fresh SQLite database in a temporary data directory, runs `assistance_cycle` (causes,
analysis, dispatch, plans, strategies) and `evaluate_progress` on the surveys' latest month,
twice each (the second run must write nothing), and prints per stage: wall time, task runs
(counted through the Prefect API: `read_task_runs` filtered by each flow run), and the
process' peak memory. Prefect runs on a temporary local server (no PREFECT_API_URL).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_DATA = tempfile.mkdtemp(prefix="zhucun-bench-")
os.environ["ZHUCUN_DATA_DIR"] = _DATA
os.environ["PREFECT_HOME"] = str(Path(_DATA) / "prefect")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def runs_of(parent_id: Any) -> list[dict[str, Any]]:
    """The parent's subflow runs (or the run itself when it has none) with their wall time
    and number of task runs, read back from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
        TaskRunFilterSubFlowRuns,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])
            ),
            sort=FlowRunSort.START_TIME_ASC,
        ) or client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[parent_id]))
        )
        out = []
        for fr in children:
            n, offset = 0, 0
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[fr.id])),
                    task_run_filter=TaskRunFilter(
                        flow_run_id=TaskRunFilterFlowRunId(any_=[fr.id]),
                        subflow_runs=TaskRunFilterSubFlowRuns(exists_=False),
                    ),
                    limit=200,
                    offset=offset,
                )
                n += len(page)
                offset += len(page)
                if len(page) < 200:
                    break
            wall = (fr.end_time - fr.start_time).total_seconds() if fr.end_time else None
            out.append({"flow_run": fr.name, "seconds": wall, "task_runs": n})
        return out


def timed_flow(flow: Any, **params: Any) -> tuple[dict[str, Any], float, Any]:
    t0 = time.perf_counter()
    state = flow(**params, return_state=True)
    seconds = time.perf_counter() - t0
    return state.result(), seconds, state.state_details.flow_run_id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=50_000)
    ap.add_argument("--county", default="522626")
    ap.add_argument("--year", type=int, default=2026)
    args = ap.parse_args()

    from zhucun.exchange.importer import import_folder
    from zhucun.generator import generate
    from zhucun.migrate import upgrade
    from zhucun.settings import get_settings

    settings = get_settings()
    print(
        f"data dir {_DATA}; batch size {settings.batch_size}; task workers "
        f"{settings.task_workers}; CPUs {os.cpu_count()}"
    )
    folder = Path(_DATA) / "county"
    t0 = time.perf_counter()
    gen = generate(args.county, folder, households=args.households, seed=1, year=args.year)
    print(f"generate: {time.perf_counter() - t0:.1f} s  rows {dict(gen.rows)}")
    t0 = time.perf_counter()
    upgrade()
    result = import_folder(folder)
    assert result.ok, result.errors[:5]
    print(f"import:   {time.perf_counter() - t0:.1f} s  peak {peak_mb():.0f} MB")

    from zhucun.flows.cycle import assistance_cycle
    from zhucun.flows.evaluation import evaluate_progress

    from zhucun.cli.commands_cycle import latest_survey_period

    period = latest_survey_period(args.county)
    for attempt in ("first run", "second run (must write nothing)"):
        print(f"\n== assistance_cycle, {attempt}")
        summary, seconds, run_id = timed_flow(
            assistance_cycle, county=args.county, cycle_year=args.year
        )
        time.sleep(2)  # task run states reach the API a moment after the flow returns
        print(f"assistance_cycle: {seconds:.1f} s wall, peak {peak_mb():.0f} MB")
        for s in runs_of(run_id):
            print(
                f"  {s['flow_run']:<28} {s['seconds'] or 0:7.1f} s  {s['task_runs']:4d} task runs"
            )
        written = {k: v.get("written") for k, v in summary["stages"].items() if "written" in v}
        print(f"  rows written per stage: {written}")
    for attempt in ("first run", "second run (must write nothing)"):
        if not period:
            break
        ev, seconds, run_id = timed_flow(evaluate_progress, county=args.county, period=period)
        time.sleep(2)
        (run,) = runs_of(run_id)
        print(
            f"\n== evaluate_progress {period}, {attempt}: {seconds:.1f} s wall, "
            f"{run['task_runs']} task runs, evaluated {ev['evaluated']:,}, "
            f"outcomes {ev['outcomes']}, peak {peak_mb():.0f} MB"
        )
    print(f"\npeak memory (this process) {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
