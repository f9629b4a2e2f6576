"""Does a province finish faster with more workers? (issue 9, "a province in a minute")

    python benchmarks/province_workers.py                      # 4 counties × 300, 1 and 2 workers
    python benchmarks/province_workers.py --households 1000 --workers 1 2 3

PostgreSQL for zhucun and for the Prefect server (127.0.0.1:5432, fresh databases dropped
afterwards), the `zhucun` process pool, the deployments made by `prefect deploy` from
deployments/prefect.yaml, and per measurement N county workers (`--limit 1` each: a machine)
plus the coordinator worker that runs the province run. Each measurement starts from the same
imported registries (a copy of one template database) and no flow runs, triggers
`province-cycle` for the counties' province and reports:

- the province run's wall seconds (its start to its end, from the Prefect API: fan-out, the
  county runs, the wait), and trigger → final as the operator sees it,
- the county runs' summed minutes (the work that was spread),
- the 1-minute load average before and after (this is a shared 2-core machine: read every
  figure with its load), and the speed-up over the first worker count.

`measure(workers, counties, households)` returns the same as a list of dicts, for
`benchmarks/scale.py --workers 2 --postgres`. On one machine the workers share its cores:
the speed-up shows the fan-out working, not what more machines give.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Guizhou (52) poverty counties with fewer villages first (a cycle's work follows villages).
PROVINCE = "52"
COUNTIES = ("520622", "522635", "522729", "522730", "522636", "522626", "522622", "522624")
YEAR = 2026


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def measure(
    workers: list[int], counties: int = 4, households: int = 300, *, progress: bool = False
) -> list[dict[str, Any]]:
    """One province run per worker count, each from the same registries and no runs; with
    `progress`, a line per step as it ends."""
    if not 1 <= counties <= len(COUNTIES):
        raise SystemExit(f"--counties: 1 to {len(COUNTIES)}")
    with tempfile.TemporaryDirectory(prefix="zhucun-province-") as tmp:
        # this process imports prefect (the pool's job template): never the user's ~/.prefect
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect-home"))
        return _measure(Path(tmp), workers, counties, households, progress)


def _measure(
    root: Path, workers: list[int], counties: int, households: int, progress: bool
) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from tests.support.cluster import (
        database_url,
        fresh_database,
        local_cluster,
        postgres_reachable,
        prepare_counties,
    )
    from zhucun.db import engine_for

    if why := postgres_reachable():
        raise SystemExit(f"no PostgreSQL at 127.0.0.1:5432: {why}")
    codes = list(COUNTIES[:counties])
    results: list[dict[str, Any]] = []
    with fresh_database("zhucun_bench_template") as template:
        t0 = time.perf_counter()
        prepare_counties(database_url(template), root, codes, households)
        engine_for(database_url(template)).dispose()  # a template takes no connections
        if progress:
            print(
                f"registries of {counties} counties × {households} poor households generated "
                f"and imported in {time.perf_counter() - t0:.1f} s\n{HEADER}",
                flush=True,
            )
        with local_cluster(root / "cluster") as cluster:
            for n in workers:
                with fresh_database("zhucun_bench", template=template) as db:
                    cluster.start_workers(n, database_url(db))
                    load_before = os.getloadavg()[0]
                    t0 = time.perf_counter()
                    run = cluster.run_province(
                        province=PROVINCE, cycle_year=YEAR, poll_seconds=1, timeout=3600
                    )
                    seen = time.perf_counter() - t0
                    runs = [
                        r
                        for r in cluster.flow_runs("assistance-cycle")
                        if f"cycle:{YEAR}" in r["tags"]
                    ]
                    results.append(
                        {
                            "workers": n,
                            "counties": counties,
                            "households": households,
                            "state": run["state_type"],
                            "wall_s": _seconds(run["start_time"], run["end_time"]),
                            "trigger_to_final_s": round(seen, 1),
                            "county_minutes": round(
                                sum(_seconds(r["start_time"], r["end_time"]) or 0 for r in runs)
                                / 60,
                                2,
                            ),
                            "county_runs": len(runs),
                            "load_before": load_before,
                            "load_after": os.getloadavg()[0],
                        }
                    )
                    base = results[0]["wall_s"]
                    wall = results[-1]["wall_s"]
                    results[-1]["speedup"] = round(base / wall, 2) if base and wall else None
                    if progress:
                        print(row(results[-1]), flush=True)
                    cluster.stop_workers()
                    cluster.delete_flow_runs()
    return results


HEADER = (
    f"{'workers':>7}  {'wall s':>7}  {'trigger→final s':>15}  {'county-run min':>14}  "
    f"{'speed-up':>8}  load before→after  state"
)


def row(r: dict[str, Any]) -> str:
    return (
        f"{r['workers']:>7}  {r['wall_s'] or 0:>7.1f}  {r['trigger_to_final_s']:>15.1f}  "
        f"{r['county_minutes']:>14.2f}  {(r['speedup'] or 0):>7.2f}x  "
        f"{r['load_before']:>6.2f} → {r['load_after']:<6.2f}     {r['state']}"
    )


def report(results: list[dict[str, Any]]) -> str:
    return "\n".join([HEADER, *(row(r) for r in results)])


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--households", type=int, default=300, help="poor households per county")
    parser.add_argument(
        "--postgres", action="store_true", help="accepted for scale.py; always PostgreSQL"
    )
    args = parser.parse_args(argv)
    print(
        f"### province-cycle {PROVINCE}: {args.counties} counties "
        f"({', '.join(COUNTIES[: args.counties])}) × {args.households} poor households; "
        f"PostgreSQL for zhucun and the Prefect server; county workers --limit 1 each, "
        f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return measure(args.workers, args.counties, args.households, progress=True)


if __name__ == "__main__":
    main()
