"""Dispatch benchmark: the pure matching algorithm on synthetic in-memory data, from a
county to the nation, and the whole `dispatch_cycle` flow on an imported county.

    python benchmarks/dispatch_benchmark.py county          # 400 villages, 50k hh, 15k cadres
    python benchmarks/dispatch_benchmark.py curve           # 1k..32k villages, scaling curve
    python benchmarks/dispatch_benchmark.py nation          # 128,000 villages, 3,000,000 cadres
    python benchmarks/dispatch_benchmark.py flow --data-dir DIR --county 522626 [--year 2026]

Each algorithm case runs in its own process so that its peak memory (ru_maxrss) is its
own. Figures are printed, never asserted: speed targets are not tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zhucun.models.enums import Cause

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SKILLS = (
    "agriculture",
    "health",
    "education",
    "finance",
    "infrastructure",
    "ecommerce",
    "tourism",
    "governance",
    "social_work",
)
CAUSES = tuple(c.value for c in Cause if c is not Cause.other)
GAPS = (
    "road",
    "water",
    "power",
    "broadband",
    "clinic",
    "school",
    "cultural",
    "collective_income",
    "industry",
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(villages: int, households: int, cadres: int, seed: int = 1):  # noqa: ANN201
    """Villages with need, skill weights and households; cadres of ~villages/10 agencies
    with realistic shares (70% party members, some juniors, 5% home villages); conflicts:
    1% of cadres related to a village official, 1% to a poor head, 2% married couples."""
    from zhucun.rules.dispatch import CadreInfo, Conflicts, VillageNeed
    from zhucun.rules.village import skills_needed

    rng = random.Random(seed)
    per_village = households / villages
    vs = []
    hh_total = 0
    for i in range(villages):
        n = max(1, int(rng.uniform(0.4, 1.6) * per_village))
        causes = {c: rng.randint(0, 30) for c in rng.sample(CAUSES, 4)}
        gaps = rng.sample(GAPS, rng.randint(0, 5))
        rate = rng.uniform(0.05, 0.6)
        vs.append(
            VillageNeed(
                village_code=f"V{i:06d}",
                incidence=rate,
                need_score=round(rate * 1000) * 100 + len(gaps),
                skill_weights=skills_needed(causes, gaps),
                needs_team=True,
                large=n * 4 >= 200,
                households=tuple(f"H{i:06d}{j:04d}" for j in range(n)),
            )
        )
        hh_total += n
    n_agencies = max(10, villages // 10)
    pool = []
    for k in range(cadres):
        party = rng.random() < 0.7
        junior = rng.random() < 0.1
        pool.append(
            CadreInfo(
                cadre_id=f"C{k:08d}",
                agency=f"A{rng.randrange(n_agencies):05d}",
                skills=tuple(rng.sample(SKILLS, rng.choice((1, 1, 2, 2, 3)))),
                party_member=party,
                party_join_year=(2026 if junior else rng.randint(1995, 2024)) if party else None,
                work_start_year=2025 if junior else rng.randint(1990, 2022),
                home_village=f"V{rng.randrange(villages):06d}" if rng.random() < 0.05 else None,
            )
        )
    conflicts = Conflicts.build(
        pool,
        official_relatives=(
            (f"C{rng.randrange(cadres):08d}", f"V{rng.randrange(villages):06d}")
            for _ in range(cadres // 100)
        ),
        head_relatives=(
            (f"C{rng.randrange(cadres):08d}", v.village_code, v.households[0])
            for v in (rng.choice(vs) for _ in range(cadres // 100))
        ),
        spouse_pairs=((f"C{2 * k:08d}", f"C{2 * k + 1:08d}") for k in range(cadres // 100)),
    )
    return vs, pool, conflicts, hh_total


def run_algorithm(villages: int, households: int, cadres: int) -> dict[str, float | int]:
    from zhucun.policy import default_policy
    from zhucun.rules.dispatch import dispatch

    policy = default_policy(2026, "west")
    t0 = time.perf_counter()
    vs, pool, conflicts, hh_total = synthetic(villages, households, cadres)
    gc.collect()
    gc.freeze()  # the input is long-lived: keep the collector from rescanning it
    t1 = time.perf_counter()
    plan = dispatch(vs, pool, conflicts, 2026, policy)
    t2 = time.perf_counter()
    kinds: dict[str, int] = {}
    for s in plan.shortages:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    return {
        "villages": villages,
        "households": hh_total,
        "cadres": cadres,
        "generate_s": round(t1 - t0, 2),
        "dispatch_s": round(t2 - t1, 2),
        "us_per_village": round((t2 - t1) / villages * 1e6, 1),
        "teams": len(plan.teams),
        "helpers": len(plan.helpers),
        "team_shortages": kinds.get("team", 0),
        "helper_shortages": kinds.get("helper", 0),
        "peak_mb": round(peak_mb()),
    }


def child(villages: int, households: int, cadres: int) -> dict:
    """Run one case in a fresh interpreter (its own peak memory)."""
    out = subprocess.run(
        [sys.executable, __file__, "_case", str(villages), str(households), str(cadres)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(r: dict) -> None:
    print(
        f"{r['villages']:>7} villages {r['households']:>9} households {r['cadres']:>8} cadres: "
        f"dispatch {r['dispatch_s']:>7.2f} s ({r['us_per_village']:>6.1f} µs/village), "
        f"data {r['generate_s']:>6.2f} s, peak {r['peak_mb']:>6} MB; teams {r['teams']}, "
        f"helpers {r['helpers']}, shortages team {r['team_shortages']} / helper "
        f"{r['helper_shortages']}",
        flush=True,
    )


# National ratios: 128,000 villages, 3,000,000 cadres (23.4 per village); households per
# village as in a county of 400 villages and 50,000 poor households (125).
CADRES_PER_VILLAGE = 3_000_000 / 128_000
HOUSEHOLDS_PER_VILLAGE = 125


def flow_benchmark(data_dir: Path, county: str, year: int) -> None:
    """The whole `dispatch_cycle` on an imported county, against a temporary Prefect server
    (its own home, so no other Prefect database is touched)."""
    os.environ["ZHUCUN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="zhucun-bench-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from sqlalchemy import func, select
    from zhucun.flows.dispatch import dispatch_cycle
    from zhucun.models import Household, Team

    from zhucun.db import session_scope

    with session_scope() as s:
        poor = s.scalar(
            select(func.count())
            .select_from(Household)
            .where(Household.registered_poor.is_(True), Household.village_code.like(f"{county}%"))
        )
        teams_before = s.scalar(select(func.count()).select_from(Team))
    for label in ("first run", "second run (nothing to do)"):
        t0 = time.perf_counter()
        state = dispatch_cycle(county, year, return_state=True)
        wall = time.perf_counter() - t0
        result = state.result()
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                )
            )
        print(
            f"dispatch_cycle {county} {year}, {label}: {wall:.1f} s wall, {len(runs)} task "
            f"runs, {poor} registered poor households (teams before {teams_before}); "
            f"peak {peak_mb():.0f} MB; {json.dumps(result, ensure_ascii=False)}",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=("county", "curve", "nation", "flow", "_case"))
    ap.add_argument("args", nargs="*")
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--county", default="522626")
    ap.add_argument("--year", type=int, default=2026)
    a = ap.parse_args()
    if a.what == "_case":
        print(json.dumps(run_algorithm(*(int(x) for x in a.args))))
    elif a.what == "county":
        show(child(400, 50_000, 15_000))
    elif a.what == "curve":
        sizes = [int(x) for x in a.args] or [1_000, 2_000, 4_000, 8_000, 16_000, 32_000]
        rows = []
        for n in sizes:
            r = child(n, n * HOUSEHOLDS_PER_VILLAGE, round(n * CADRES_PER_VILLAGE))
            show(r)
            rows.append(r)
        base = rows[0]
        print(
            "scaling (time per village relative to the smallest case): "
            + ", ".join(
                f"{r['villages']}: {r['us_per_village'] / base['us_per_village']:.2f}x"
                for r in rows
            )
        )
    elif a.what == "nation":
        show(child(128_000, 128_000 * HOUSEHOLDS_PER_VILLAGE, 3_000_000))
    elif a.what == "flow":
        if a.data_dir is None:
            ap.error("flow needs --data-dir (a zhucun data directory with the county imported)")
        flow_benchmark(a.data_dir, a.county, a.year)


if __name__ == "__main__":
    main()
