"""How the whole assistance cycle scales with the number of poor households (issue 9).

    python benchmarks/scale.py --quick                      # 800 households, < 1 min (CI)
    python benchmarks/scale.py --sizes 50000 200000 1000000 # one fresh database per size
    python benchmarks/scale.py --sizes 200000 --no-evaluation --keep
    python benchmarks/scale.py --sizes 200000 --postgres     # zhucun's database on PostgreSQL
    python benchmarks/scale.py --workers 1 2 --postgres  # a province over 1, then 2 workers

Per size, in a child process of its own (so each size's peak RSS is its own), it generates a
registry (`zhucun.generator`; sizes above `--county-size` households are split over several
Guizhou counties), imports it into a fresh SQLite database in a temporary data directory,
runs `assistance_cycle` (causes, analysis, dispatch, plans, strategies, review opened) for
each county, the review from the county's meeting minutes (drafted as `zhucun review minutes`
drafts them, not timed: a county brings its minutes), `evaluate_progress` on the surveys'
latest month and the monthly `monitor_relapse`, then runs it all again (the re-run must
write nothing). It prints, per stage:

- wall seconds (from the Prefect API's flow run start/end) and the share of it no task run
  covered (``orch``: Prefect's own time plus flow bodies),
- rows written (the stage summary's counts) and task runs (read back from the Prefect API),
- the process' peak RSS and the 1-minute load average while the stage ran (this is a shared
  2-core machine: read every figure with its load),
- the re-run's wall time as a share of the first run;
- ``(outside)``: the flow calls' wall not spent in any stage's flow run (the parent flows'
  bodies, artifacts and hand-overs), counted as orchestration. The temporary Prefect server
  is started (and timed) before the measured runs, as a deployment has one running.

Then a raw-write baseline: the rows each stage left in its tables, written again with plain
`sqlite3.executemany` into an empty copy of the same schema (indexes included, foreign keys
off, one transaction per table), and the ratio stage wall / raw write. The ratio is an upper
bound of the write overhead: a stage's wall includes its reads and rules, too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from scale_support import (  # noqa: E402
    Sampler,
    covered,
    create_pg_database,
    drop_pg_database,
    load,
    peak_mb,
    raw_write,
    row_counts,
)

# Poverty counties of Guizhou the large sizes are spread over, 522626 first.
COUNTIES = ("522626", "522622", "522623", "522624", "522625", "522627", "522628", "522629")
# Tables each stage writes (the raw-write baseline rewrites exactly these rows).
STAGE_TABLES: dict[str, tuple[str, ...]] = {
    "causes": ("householdassessment",),
    "analysis": ("villageassessment",),
    "dispatch": ("team", "teammember", "helperassignment", "shortage"),
    "plans": ("plan", "planitem"),
    "strategies": ("strategy", "strategymeasure"),
}
WRITTEN_KEYS = (
    "written",
    "teams_formed",
    "members_posted",
    "helpers_assigned",
    "shortages_recorded",
    "evaluated",
)


def flow_stages(parent_id: Any) -> list[dict[str, Any]]:
    """The parent's subflow runs (or the run itself) with start/end, task runs and the time
    the task runs covered, read back from the Prefect API."""
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
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])
            ),
            sort=FlowRunSort.START_TIME_ASC,
        ) or client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[parent_id]))
        )
        out = []
        for fr in runs:
            tasks: list[Any] = []
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[fr.id])),
                    task_run_filter=TaskRunFilter(
                        flow_run_id=TaskRunFilterFlowRunId(any_=[fr.id]),
                        subflow_runs=TaskRunFilterSubFlowRuns(exists_=False),
                    ),
                    limit=200,
                    offset=len(tasks),
                )
                tasks += page
                if len(page) < 200:
                    break
            t0 = fr.start_time.timestamp() if fr.start_time else time.time()
            t1 = fr.end_time.timestamp() if fr.end_time else t0
            spans = [
                (t.start_time.timestamp(), t.end_time.timestamp())
                for t in tasks
                if t.start_time and t.end_time
            ]
            out.append(
                {
                    "stage": fr.name.split("-")[0],
                    "t0": t0,
                    "t1": t1,
                    "task_runs": len(tasks),
                    "in_tasks": covered(spans),
                }
            )
        return out


def written(summary: dict[str, Any]) -> int:
    return sum(int(v) for k, v in summary.items() if k in WRITTEN_KEYS and isinstance(v, int))


def latest_period(county: str) -> str | None:
    from sqlalchemy import func, select
    from zhucun.models import Household, Survey

    from zhucun.db import session_scope

    with session_scope() as session:
        latest = session.execute(
            select(func.max(Survey.survey_date))
            .join(Household, Household.household_id == Survey.household_id)
            .where(Household.village_code.like(f"{county}%"))
        ).scalar()
    return f"{latest:%Y-%m}" if latest else None


def draft_minutes_file(county: str, year: int, work: Path) -> tuple[Path, int, float]:
    """The county's meeting minutes (decisions.csv) approving what waits, as `zhucun review
    minutes` drafts them: (path, rows, seconds). Not part of the cycle's figure: a county
    brings its minutes to the review."""
    from datetime import date

    from zhucun.tasks.review_minutes import draft_minutes, write_minutes

    from zhucun.db import session_scope

    t0 = time.perf_counter()
    with session_scope() as session:
        rows = draft_minutes(session, county=county, cycle_year=year, decided_on=date.today())
    path = write_minutes(rows, work / f"minutes-{county}-{year}.csv")
    return path, len(rows), time.perf_counter() - t0


def run_cycle(
    counties: list[str],
    year: int,
    evaluation: bool,
    sampler: Sampler,
    minutes: dict[str, Path] | None = None,
    work: Path = Path("."),
) -> tuple[float, list[dict[str, Any]]]:
    """One pass over the counties: the seconds spent in the flow calls (not in this
    script's API reads) and, per stage name, the figures summed over counties. With
    `minutes` (county → decisions.csv, filled here after a county's first cycle run) the
    review is then run from the file; after the evaluation, the monthly monitoring run."""
    from zhucun.flows.cycle import assistance_cycle
    from zhucun.flows.evaluation import evaluate_progress, monitor_relapse
    from zhucun.flows.review import review_cycle

    stages: dict[str, dict[str, Any]] = {}

    def add(name: str, s: dict[str, Any], rows: int) -> None:
        mb, ld = sampler.window(s["t0"], s["t1"])
        acc = stages.setdefault(
            name, {"stage": name, "wall": 0.0, "orch": 0.0, "rows": 0, "tasks": 0, "mb": 0.0}
        )
        wall = s["t1"] - s["t0"]
        acc["wall"] += wall
        acc["orch"] += max(wall - s["in_tasks"], 0.0)
        acc["rows"] += rows
        acc["tasks"] += s["task_runs"]
        acc["mb"] = max(acc["mb"], mb)
        acc["load"] = max(acc.get("load", 0.0), ld)

    in_flows = 0.0

    def timed(call: Any, **kw: Any) -> Any:
        nonlocal in_flows
        t0 = time.perf_counter()
        state = call(**kw, return_state=True)
        in_flows += time.perf_counter() - t0
        out = state.result()
        time.sleep(1.5)  # task run states reach the API a moment after the flow returns
        return out, flow_stages(state.state_details.flow_run_id)

    for county in counties:
        summary, runs = timed(assistance_cycle, county=county, cycle_year=year)
        for s in runs:
            add(s["stage"], s, written(summary["stages"].get(s["stage"], {})))
        if minutes is not None:
            if county not in minutes:  # the county's meeting, after the first cycle run
                path, n, sec = draft_minutes_file(county, year, work)
                minutes[county] = path
                print(f"  minutes of {county}: {n:,} decisions drafted in {sec:.1f} s (not timed)")
            out, runs = timed(
                review_cycle, county=county, cycle_year=year, decisions_file=str(minutes[county])
            )
            for s in runs:
                add("review-file", s, int(out.get("file_accepted") or 0))
        if evaluation and (period := latest_period(county)):
            ev, runs = timed(evaluate_progress, county=county, period=period)
            for s in runs:
                add("evaluation", s, written(ev))
            mon, runs = timed(monitor_relapse, county=county, period=period)
            for s in runs:
                add("monitoring", s, int(mon.get("opened", 0)) + int(mon.get("closed", 0)))
    return in_flows, list(stages.values())


def warm_up() -> None:
    """Start the temporary Prefect server before measuring (a deployment has one running)."""
    from prefect import flow

    t0 = time.perf_counter()
    flow(name="warm-up")(lambda: None)()
    print(f"Prefect server start and a first empty flow run: {time.perf_counter() - t0:.1f} s")


def one_size(args: argparse.Namespace) -> None:
    """Child process: everything for one size, in the data dir the parent prepared."""
    data = Path(os.environ["ZHUCUN_DATA_DIR"])
    sys.path.insert(0, str(ROOT))
    from zhucun.exchange.importer import import_folder
    from zhucun.generator import generate
    from zhucun.migrate import upgrade
    from zhucun.settings import get_settings

    size = args.one
    n = max(1, math.ceil(size / args.county_size))
    if n > len(COUNTIES):
        raise SystemExit(f"at most {len(COUNTIES) * args.county_size} households")
    counties = list(COUNTIES[:n])
    settings = get_settings()
    print(
        f"### {size:,} poor households in {n} count{'y' if n == 1 else 'ies'} "
        f"({', '.join(counties)}); batch size {settings.batch_size}, task workers "
        f"{settings.task_workers}, CPUs {os.cpu_count()}; {load()}",
        flush=True,
    )
    t0 = time.perf_counter()
    upgrade()
    for i, county in enumerate(counties):
        folder = data / f"registry-{county}"
        per = size // n + (1 if i < size % n else 0)
        generate(county, folder, households=per, seed=1 + i, year=args.year)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    for county in counties:
        result = import_folder(data / f"registry-{county}")
        assert result.ok, result.errors[:5]
        shutil.rmtree(data / f"registry-{county}")
    print(
        f"generate {t_gen:.1f} s, import {time.perf_counter() - t0:.1f} s, "
        f"peak {peak_mb():.0f} MB; {load()}",
        flush=True,
    )
    url = settings.effective_database_url
    db = Path(url.split("///", 1)[-1]) if url.startswith("sqlite") else None
    print(f"database: {'SQLite' if db else 'PostgreSQL'}", flush=True)

    plain = data / "plain.db"
    if db is not None:  # the no-Prefect pass runs on this copy, taken before any stage
        with sqlite3.connect(db) as con:
            con.execute(f"VACUUM INTO '{plain}'")
    warm_up()
    sampler = Sampler()
    sampler.start()
    runs = []
    minutes: dict[str, Path] | None = None if args.no_review_file else {}
    for attempt in ("first run", "re-run"):
        before = row_counts(db, ["auditevent"])
        wall, stages = run_cycle(
            counties, args.year, not args.no_evaluation, sampler, minutes, data
        )
        outside = max(wall - sum(s["wall"] for s in stages), 0.0)
        stages.append(
            {"stage": "(outside)", "wall": outside, "orch": outside, "rows": 0, "tasks": 0}
            | {"mb": peak_mb(), "load": os.getloadavg()[0]}
        )
        audits = row_counts(db, ["auditevent"])["auditevent"] - before["auditevent"]
        runs.append((wall, stages, audits))
        print(f"\n== {attempt}: {wall:.1f} s wall, {audits:,} audit rows; {load()}")
        print(
            f"  {'stage':<11} {'wall s':>8} {'orch s':>7} {'rows':>10} {'tasks':>6} "
            f"{'peak MB':>8} {'load':>5}"
        )
        for s in stages:
            print(
                f"  {s['stage']:<11} {s['wall']:8.1f} {s['orch']:7.1f} {s['rows']:10,} "
                f"{s['tasks']:6d} {s['mb']:8.0f} {s['load']:5.1f}"
            )
        sys.stdout.flush()
    sampler.stop = True
    (first, stages, _), (second, again, _) = runs
    tasks = sum(s["tasks"] for s in stages)
    orch = sum(s["orch"] for s in stages)
    print(
        f"\ncycle: {first:.1f} s = {1000 * first / size:.3f} ms/household; re-run "
        f"{second:.1f} s ({100 * second / first:.0f}% of the first); {tasks} task runs "
        f"(1 per {size // max(tasks, 1):,} households); orchestration {orch:.1f} s "
        f"({100 * orch / first:.0f}%); peak {peak_mb():.0f} MB"
    )
    print("re-run per stage: " + ", ".join(f"{s['stage']} {s['wall']:.1f} s" for s in again))

    if db is None:
        print(f"\npeak memory (this process) {peak_mb():.0f} MB", flush=True)
        return  # the raw-write baseline and the no-Prefect pass are SQLite's
    without_prefect(stages, first, plain, counties, args, data)
    print("\n== raw-write baseline (sqlite3.executemany into an empty copy of the schema)")
    by_stage = {s["stage"]: s for s in stages}
    for stage, tables in STAGE_TABLES.items():
        if stage not in by_stage or not by_stage[stage]["rows"]:
            continue
        rows, seconds = raw_write(db, tables, data)
        wall = by_stage[stage]["wall"]
        print(
            f"  {stage:<11} {rows:10,} rows raw {seconds:6.2f} s; stage {wall:6.1f} s "
            f"= {wall / max(seconds, 1e-3):5.1f}x raw ({'+'.join(tables)}); {load()}"
        )
    rows, seconds = raw_write(db, ("auditevent",), data)
    print(f"  {'audit':<11} {rows:10,} rows raw {seconds:6.2f} s (all stages' audit rows)")
    print(f"\npeak memory (this process) {peak_mb():.0f} MB", flush=True)


def without_prefect(
    stages: list[dict[str, Any]],
    first: float,
    plain: Path,
    counties: list[str],
    args: argparse.Namespace,
    data: Path,
) -> None:
    """The first run's work again without Prefect (benchmarks/scale_plain.py, its own
    process, on the copy taken before the first run): Prefect's share per stage."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "scale_plain.py"), str(plain)]
    cmd += ["--counties", *counties, "--year", str(args.year), "--minutes", str(data)]
    cmd += ["--no-evaluation"] if args.no_evaluation else []
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True).stdout
    alone = json.loads(out.strip().splitlines()[-1])
    plain.unlink(missing_ok=True)
    print("\n== without Prefect (the same task functions, chunks and order; first run)")
    print(f"  {'stage':<11} {'Prefect s':>9} {'plain s':>8} {'Prefect share':>14}")
    for s in stages:
        if s["stage"] in alone:
            w, a = s["wall"], alone[s["stage"]]
            print(f"  {s['stage']:<11} {w:9.1f} {a:8.1f} {100 * (w - a) / max(w, 1e-9):13.0f}%")
    total = alone["total"]
    print(
        f"  whole run: {first:.1f} s with Prefect, {total:.1f} s without: orchestration "
        f"{first - total:.1f} s = {100 * (first - total) / first:.0f}% of the wall; {load()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", help="default 50,000 and 200,000")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="800 households in under a minute (as the suite runs it), or --sizes",
    )
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument(
        "--county-size",
        type=int,
        help="households per county (default 250,000; with --workers 300)",
    )
    ap.add_argument("--no-evaluation", action="store_true", help="no evaluation, no monitoring")
    ap.add_argument(
        "--no-review-file",
        action="store_true",
        help="open the review only (no meeting minutes drafted and applied)",
    )
    ap.add_argument(
        "--postgres",
        action="store_true",
        help="zhucun's database on PostgreSQL (a fresh database at 127.0.0.1:5432, dropped after)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        nargs="+",
        help="instead: a province-cycle of 4 counties (--county-size households each) on a "
        "process work pool with this many workers, PostgreSQL for zhucun and Prefect "
        "(benchmarks/province_workers.py), e.g. --workers 1 2",
    )
    ap.add_argument("--keep", action="store_true", help="keep the data dirs")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process' size
    args = ap.parse_args()
    if args.one:
        args.county_size = args.county_size or 250_000
        one_size(args)
        return
    if args.workers:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import province_workers

        province_workers.main(
            ["--workers", *map(str, args.workers), "--households", str(args.county_size or 300)]
        )
        return
    sizes = args.sizes or ([800] if args.quick else [50_000, 200_000])
    for size in sizes:
        data = tempfile.mkdtemp(prefix=f"zhucun-scale-{size}-")
        env = dict(
            os.environ,
            ZHUCUN_DATA_DIR=data,
            PREFECT_HOME=str(Path(data) / "prefect"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PREFECT_LOGGING_LEVEL="WARNING",
            # the temporary server starts slowly on a loaded machine (default 20 s)
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        )
        env.pop("PREFECT_API_URL", None)
        pg = create_pg_database(size) if args.postgres else None
        if pg:
            env["ZHUCUN_DATABASE_URL"] = pg
        cmd = [sys.executable, __file__, "--one", str(size), "--year", str(args.year)]
        cmd += ["--county-size", str(args.county_size or 250_000)]
        cmd += ["--no-evaluation"] if args.no_evaluation else []
        cmd += ["--no-review-file"] if args.no_review_file else []
        try:
            rc = subprocess.call(cmd, env=env, cwd=ROOT)
        finally:
            if pg:
                drop_pg_database(pg)
            if not args.keep:
                shutil.rmtree(data, ignore_errors=True)
            else:
                print(f"data kept in {data}")
        if rc:
            raise SystemExit(rc)


if __name__ == "__main__":
    main()
