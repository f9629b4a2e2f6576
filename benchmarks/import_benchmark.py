"""Import benchmark: time and peak memory of `zhucun import` for a county of N households.

    python benchmarks/import_benchmark.py --households 100000 1000000

For each N it builds a county folder with the generator (`zhucun generate --county CODE
--out DIR --households N --seed 1`; `--synthetic` uses the small writer below instead),
imports it into a fresh SQLite database in a child process, and reports wall time, peak
RSS of that child (`getrusage(RUSAGE_CHILDREN).ru_maxrss`, read in a wrapper process that
has no other child), seconds per file and pass, and then the time of a re-import (which
must change nothing). `--database-url` benchmarks PostgreSQL instead (the database must
exist and be empty of this county, or the numbers measure an update)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

# Runs `argv` as its only child; prints wall time, exit code, the child's peak RSS, output.
MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
took = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": proc.returncode, "seconds": took, "maxrss_kb": peak,
                  "stdout": proc.stdout[-4000:], "stderr": proc.stderr}))
"""

STEP = re.compile(r"^(checking|writing) (\S+): ([\d,]+) rows in ([\d.]+) s$")


def measure(argv: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def generate(county: str, folder: Path, households: int, synthetic: bool) -> float:
    started = time.perf_counter()
    has_generator = (Path(__file__).resolve().parents[1] / "zhucun" / "generator").is_dir()
    if synthetic or not has_generator:
        write_synthetic(county, folder, households)
    else:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "zhucun",
                "generate",
                "--county",
                county,
                "--out",
                str(folder),
                "--households",
                str(households),
                "--seed",
                "1",
            ],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - started


# -- SYNTHETIC FALLBACK: not the generator. Plain valid rows (villages + households only),
# -- for when `zhucun generate` is not available; no realistic distributions.


def _id_number(county: str, i: int) -> str:
    from zhucun.idnumber import make_id_number

    # a new birth date every 1,000 heads and a new sequence number within it: all distinct
    born = date(1940, 1, 1) + timedelta(days=i // 1000)
    return make_id_number(county, born, i % 1000)


def write_synthetic(county: str, folder: Path, households: int) -> None:
    from zhucun.exchange.specs import HOUSEHOLDS, VILLAGES

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    n_villages = max(1, min(999, households // 300))
    villages = [f"{county}{100 + v // 99:03d}{1 + v % 99:03d}" for v in range(n_villages)]
    with open(folder / "villages.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(VILLAGES.headers)
        for code in villages:
            w.writerow(
                [
                    code,
                    f"村{code[-3:]}",
                    code[:9],
                    f"镇{code[6:9]}",
                    county,
                    "县",
                    "省",
                    "west",
                    "true",
                    1500,
                    20000,
                    "true",
                    "true",
                    "true",
                    "false",
                    "true",
                    "false",
                    "false",
                    "mountain",
                    30,
                    "茶叶",
                ]
            )
    with open(folder / "households.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HOUSEHOLDS.headers)
        for i in range(households):
            idn = _id_number(county, i)
            size = rng.randint(1, 7)
            labour = rng.randint(0, size)
            w.writerow(
                [
                    f"S{i:08d}",
                    villages[i % n_villages],
                    "户主",
                    idn,
                    size,
                    labour,
                    rng.randint(0, labour),
                    rng.randint(800, 9000),
                    "true",
                    "general",
                    "ABCD"[rng.randint(0, 3)],
                    "true",
                    "true",
                    "true",
                    "true",
                    rng.randint(0, 1),
                    0,
                    0,
                    min(size, rng.randint(0, 2)),
                    1000,
                    500,
                    1.5,
                    0,
                    "true",
                    "false",
                    "false",
                    "",
                ]
            )


# -- the benchmark -------------------------------------------------------------------------


def run(
    households: int,
    county: str,
    workdir: Path,
    synthetic: bool,
    database_url: str | None,
    keep: bool,
) -> dict:
    folder = workdir / f"county-{households}"
    data = workdir / f"data-{households}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    gen_s = generate(county, folder, households, synthetic)
    env = {**os.environ, "ZHUCUN_DATA_DIR": str(data)}
    if database_url:
        env["ZHUCUN_DATABASE_URL"] = database_url
        subprocess.run(
            [sys.executable, "-m", "zhucun", "db", "upgrade"],
            env=env,
            check=True,
            capture_output=True,
        )
    argv = [sys.executable, "-m", "zhucun", "import", str(folder)]
    first = measure(argv, env)
    if first["rc"] != 0:
        raise SystemExit(f"import failed:\n{first['stderr'][-3000:]}{first['stdout']}")
    again = measure(argv, env)
    steps: dict[str, dict[str, float]] = {}
    rows: dict[str, int] = {}
    for line in first["stderr"].splitlines():
        m = STEP.match(line.strip())
        if m:
            phase, name, n, secs = m.groups()
            steps.setdefault(name, {})[phase] = float(secs)
            rows[name] = int(n.replace(",", ""))
    db_file = data / "zhucun.db"
    result = {
        "households_requested": households,
        "rows": rows,
        "generate_s": round(gen_s, 1),
        "import_s": round(first["seconds"], 1),
        "peak_rss_mb": round(first["maxrss_kb"] / 1024, 1),
        "reimport_s": round(again["seconds"], 1),
        "reimport_peak_rss_mb": round(again["maxrss_kb"] / 1024, 1),
        "steps_s": steps,
        "database_mb": round(db_file.stat().st_size / 2**20, 1) if db_file.exists() else None,
        "input_mb": round(sum(p.stat().st_size for p in folder.glob("*.csv")) / 2**20, 1),
    }
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--county", default="522626")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="use the benchmark's own plain writer, not `zhucun generate`",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep folders and databases")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="zhucun-bench-"))
    results = []
    for n in args.households:
        r = run(n, args.county, workdir, args.synthetic, args.database_url, args.keep)
        results.append(r)
        if not args.json:
            print(f"\n== {n:,} households (county {args.county}, input {r['input_mb']} MB) ==")
            print("rows: " + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items()))
            print(
                f"import: {r['import_s']} s, peak RSS {r['peak_rss_mb']} MB; "
                f"re-import (no change): {r['reimport_s']} s, "
                f"peak RSS {r['reimport_peak_rss_mb']} MB; database {r['database_mb']} MB"
            )
            for name, phases in r["steps_s"].items():
                print(
                    f"  {name:<16} check {phases.get('checking', 0):7.1f} s   "
                    f"write {phases.get('writing', 0):7.1f} s"
                )
            sys.stdout.flush()
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
