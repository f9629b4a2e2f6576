"""Benchmark the monthly monitoring run (防止返贫动态监测) on a county of rural households.

    python benchmarks/monitoring.py [--rural 100000] [--county 522626] [--year 2026]

Generates a county of `--rural` rural households — a fifth registered poor, the edge
households on top of them, ordinary ones for the rest — with its surveys and its clue file,
imports it into a fresh SQLite database in a temporary data directory, records the clues,
marks the poor households whose latest survey is above the line as exited (the exit
procedure, as one UPDATE), then runs the `monitor-relapse` flow for October of the year
twice (the second run opens nothing) in a process of its own, and prints its wall time,
the flow run's own time and task runs (read back from the Prefect API), the cases by
category and that process' peak memory. Prefect runs on a temporary local server.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POOR_SHARE = 0.20  # of the rural households


def _env(data: str) -> None:
    os.environ["ZHUCUN_DATA_DIR"] = data
    os.environ["PREFECT_HOME"] = str(Path(data) / "prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.pop("PREFECT_API_URL", None)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(data: str, rural: int, county: str, year: int) -> dict[str, Any]:
    """Generate, import, record the clues, mark exits: everything before the monthly run."""
    from datetime import date

    from sqlalchemy import and_, func, select, update
    from zhucun.models import Household, Survey
    from zhucun.tasks.monitoring_clues import record_clues

    from zhucun.db import session_scope
    from zhucun.exchange.clues import read_clues
    from zhucun.exchange.importer import import_folder
    from zhucun.generator import distributions as d
    from zhucun.generator import generate
    from zhucun.migrate import upgrade
    from zhucun.policy import default_policy

    poor = round(rural * POOR_SHARE)
    ordinary = rural - poor - round(poor * d.EDGE_HOUSEHOLD_SHARE)
    folder = Path(data) / "county"
    t0 = time.perf_counter()
    gen = generate(county, folder, seed=1, households=poor, ordinary=ordinary, year=year)
    print(f"generate: {time.perf_counter() - t0:.1f} s  rows {dict(gen.rows)}")
    t0 = time.perf_counter()
    upgrade()
    result = import_folder(folder)
    assert result.ok, result.errors[:5]
    print(f"import:   {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    clues = read_clues(folder / "monitoring_clues.csv")
    with session_scope() as session:
        refusals, counts = record_clues(session, clues.records, today=date(year, 12, 31))
        assert not refusals, refusals[:3]
    print(f"clues:    {time.perf_counter() - t0:.1f} s  {counts}")
    line = default_policy(year, gen.region).poverty_line_yuan
    with session_scope() as session:
        last = (
            select(Survey.household_id, func.max(Survey.survey_date).label("d"))
            .where(Survey.survey_date <= date(year, 10, 31))
            .group_by(Survey.household_id)
            .subquery()
        )
        above = (
            select(Survey.household_id)
            .join(
                last,
                and_(Survey.household_id == last.c.household_id, Survey.survey_date == last.c.d),
            )
            .where(Survey.per_capita_income_yuan > line)
        )
        exited = session.execute(
            update(Household)
            .where(Household.registered_poor.is_(True), Household.household_id.in_(above))
            .values(status="exited", exited_period=f"{year}-06")
        ).rowcount
        total = session.scalar(select(func.count()).select_from(Household))
    print(f"rural households {total:,}: {poor:,} registered poor ({exited:,} exited), "
          f"{total - poor:,} never registered")  # fmt: skip
    return {"households": total}


def task_runs(flow_run_id: Any) -> tuple[int, float | None]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
        )
        (fr,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    own = (fr.end_time - fr.start_time).total_seconds() if fr.end_time else None
    return len(runs), own


def monthly_run(county: str, period: str) -> None:
    """In a process of its own: the flow twice, then the figures as one JSON line."""
    from collections import Counter

    from sqlalchemy import select
    from zhucun.flows.evaluation import monitor_relapse
    from zhucun.models import MonitoringCase

    from zhucun.db import session_scope

    out = []
    for attempt in ("first", "second"):
        t0 = time.perf_counter()
        state = monitor_relapse(county=county, period=period, return_state=True)
        seconds = time.perf_counter() - t0
        result = state.result()
        time.sleep(2)  # task run states reach the API a moment after the flow returns
        n, own = task_runs(state.state_details.flow_run_id)
        out.append(
            dict(attempt=attempt, wall=seconds, flow=own, task_runs=n, peak_mb=peak_mb(),
                 **{k: result.get(k) for k in ("opened", "clues_linked", "tracked", "chunks")})
        )  # fmt: skip
    with session_scope() as session:
        cats = Counter(session.scalars(select(MonitoringCase.category)))
    print(json.dumps({"runs": out, "categories": dict(cats), "peak_mb": peak_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rural", type=int, default=100_000)
    ap.add_argument("--county", default="522626")
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--run", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    period = f"{args.year}-10"
    sys.path.insert(0, str(ROOT))
    if args.run:
        _env(args.run)
        monthly_run(args.county, period)
        return
    data = tempfile.mkdtemp(prefix="zhucun-monitoring-bench-")
    _env(data)
    print(f"data dir {data}; CPUs {os.cpu_count()}")
    prepare(data, args.rural, args.county, args.year)
    child = subprocess.run(
        [sys.executable, __file__, "--run", data, "--county", args.county,
         "--year", str(args.year)],
        capture_output=True, text=True,
    )  # fmt: skip
    if child.returncode:
        sys.exit(f"the monthly run failed:\n{child.stderr[-3000:]}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"\n== monthly monitoring run (monitor-relapse {period}), its own process")
    for r in figures["runs"]:
        print(
            f"{r['attempt']:>6} run: {r['wall']:6.1f} s wall ({r['flow'] or 0:.1f} s flow run), "
            f"{r['task_runs']} task runs over {r['chunks']} chunks; opened {r['opened']:,}, "
            f"clues joined {r['clues_linked']:,}, open cases reviewed {r['tracked']:,}"
        )
    print(f"cases by category: {figures['categories']}")
    print(f"peak memory of the monthly run's process {figures['peak_mb']:.0f} MB "
          f"(whole benchmark before it {peak_mb():.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
