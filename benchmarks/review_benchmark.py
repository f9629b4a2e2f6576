"""Review throughput: approve-all for every village and stage of a seeded county through
`tasks.review.decide` (the path the UI form, the CLI and files share), and a decisions file
of the same size. Prints its figures; no assertions.

    python benchmarks/review_benchmark.py [households_per_village]
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["ZHUCUN_DATA_DIR"] = tempfile.mkdtemp(prefix="zhucun-review-bench-")

import zhucun.models  # noqa: E402, F401
from sqlmodel import Session, SQLModel  # noqa: E402
from zhucun.tasks import review as T  # noqa: E402

from tests.support.review_fixtures import seed_review  # noqa: E402
from zhucun.db import get_engine  # noqa: E402
from zhucun.policy import seed_policy  # noqa: E402


def main(per_village: int) -> None:
    engine = get_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        seed_policy(s)
        seed = seed_review(s, villages=4, households_per_village=per_village)
        s.commit()
    villages = seed.info.poor_villages[:4]
    n = sum(len(v) for v in seed.strategies.values())
    today = date.today()
    t0 = time.perf_counter()
    decided = 0
    with Session(engine) as s:
        policy = T.policy_for(s, "130624", 2026)
        T.sync_states(s, 2026, villages, policy=policy)
        for v in villages[:2]:
            for stage, who in (
                ("team", seed.teams[v][0]),
                ("committee", seed.officials(v)["committee_director"]),
                ("township", "T1"),
            ):
                reqs = T.form_requests(
                    s,
                    cycle_year=2026,
                    village=v,
                    stage=stage,
                    reviewer_id=who,
                    approve_all=True,
                    decisions=[],
                    decided_on=today,
                    policy=policy,
                )
                decided += T.decide(s, reqs, cycle_year=2026, channel="cli").accepted
        s.commit()
    t1 = time.perf_counter()
    path = Path(tempfile.mkdtemp()) / "decisions.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["stage", "subject", "subject_id", "reviewer_id", "decision", "reason", "decided_on"]
        )
        for v in villages[2:]:
            for h in seed.strategies[v]:
                w.writerow(["team", "strategy", h, seed.teams[v][0], "approve", "", today])
    rows = sum(len(seed.strategies[v]) for v in villages[2:])
    t2 = time.perf_counter()
    with Session(engine) as s:
        res = T.apply_decisions_file(s, path, cycle_year=2026, county="130624")
        s.commit()
    t3 = time.perf_counter()
    print(f"strategies in review: {n}")
    print(
        f"approve-all, 2 villages x 3 stages: {decided} decisions in {t1 - t0:.2f} s "
        f"({decided / (t1 - t0):,.0f}/s)"
    )
    print(
        f"decisions file: {rows} rows, ok={res.ok}, in {t3 - t2:.2f} s ({rows / (t3 - t2):,.0f}/s)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
