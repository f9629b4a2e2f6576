"""Import benchmark: time and peak memory of `zhucun import` for a county of N households,
on SQLite and on PostgreSQL, beside a raw executemany of the same rows.

    python benchmarks/import_benchmark.py --households 200000            # both databases
    python benchmarks/import_benchmark.py --households 1000000 --databases sqlite \
        --workdir /tmp/zb --reuse                                          # keep the folder

For each N it builds a county folder with the generator (`zhucun generate --county CODE
--out DIR --households N --seed 1`, members and surveys included; `--synthetic` uses the
small writer below instead; `--reuse` takes the folder already in the work directory).
Then, per database, in a fresh database (a new SQLite file; a new PostgreSQL database
created and dropped on the server of `--postgres-url`): `zhucun import` in a child process
(wall time; peak RSS of that child, `getrusage(RUSAGE_CHILDREN).ru_maxrss` read in a
wrapper that has no other child; seconds per file and pass from its progress lines), the
same import again (must change nothing), and the baseline: every row the import stored,
inserted by plain executemany (sqlite3 / psycopg, no validation, no upsert) into another
fresh database with the same schema, one transaction, only the inserts timed. The 1-minute
load average (`os.getloadavg()`) is printed beside each figure: on a shared machine it
says how much the figure is worth."""

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
import uuid
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
                  "stdout": proc.stdout, "stderr": proc.stderr}))
"""

STEP = re.compile(r"^(checking|writing) (\S+): ([\d,]+) rows in ([\d.]+) s$")
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The registry's tables in the order their foreign keys need.
TABLES = (
    "county",
    "township",
    "village",
    "household",
    "member",
    "cadre",
    "official",
    "relation",
    "survey",
)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def measure(argv: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    result["load"] = load()
    return result


def generate(county: str, folder: Path, households: int, synthetic: bool) -> float:
    started = time.perf_counter()
    has_generator = (Path(__file__).resolve().parents[1] / "zhucun" / "generator").is_dir()
    if synthetic or not has_generator:
        write_synthetic(county, folder, households)
    else:
        subprocess.run(
            [sys.executable, "-m", "zhucun", "generate", "--county", county, "--out", str(folder)]
            + ["--households", str(households), "--seed", "1"],
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


class Database:
    """A fresh zhucun database for one measurement: a SQLite file, or a PostgreSQL database
    created on the server of `admin_url` (dropped by `drop`)."""

    def __init__(self, kind: str, workdir: Path, label: str, admin_url: str) -> None:
        self.kind, self.admin_url = kind, admin_url
        if kind == "sqlite":
            self.path = workdir / f"{label}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = f"zhucun_bench_{label}_{uuid.uuid4().hex[:6]}"
            self._admin(f'CREATE DATABASE "{self.name}"')
            self.url = admin_url.rsplit("/", 1)[0] + f"/{self.name}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(sql)

    def connect(self):  # noqa: ANN201 - a DB-API connection of either driver
        if self.kind == "sqlite":
            import sqlite3

            conn = sqlite3.connect(self.path)
            conn.execute("PRAGMA foreign_keys=ON")  # as zhucun's engine
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg
        from psycopg.types.string import TextLoader

        conn = psycopg.connect(_libpq(self.url))
        conn.adapters.register_loader("json", TextLoader)  # JSON copied as its text
        return conn

    def size_mb(self) -> float | None:
        if self.kind == "sqlite":
            return round(self.path.stat().st_size / 2**20, 1) if self.path.exists() else None
        with self.connect() as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        return round(size / 2**20, 1)

    def drop(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def upgrade(db: Database, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "zhucun", "db", "upgrade"],
        env={**env, "ZHUCUN_DATABASE_URL": db.url},
        check=True,
        capture_output=True,
    )


def baseline(source: Database, target: Database, env: dict[str, str]) -> dict:
    """Every row of the registry tables of `source`, inserted into the empty schema of
    `target` by plain executemany in one transaction; only the inserts are timed."""
    upgrade(target, env)
    mark = "?" if target.kind == "sqlite" else "%s"
    seconds, rows = 0.0, 0
    src, dst = source.connect(), target.connect()
    try:
        for table in TABLES:
            cur = src.cursor()
            cur.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cur.description]
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(mark for _ in columns)})"
            )
            while batch := cur.fetchmany(5000):
                started = time.perf_counter()
                dst.cursor().executemany(sql, batch)
                seconds += time.perf_counter() - started
                rows += len(batch)
        started = time.perf_counter()
        dst.commit()
        seconds += time.perf_counter() - started
    finally:
        src.close()
        dst.close()
    return {"seconds": round(seconds, 1), "rows": rows, "load": load()}


def run_database(kind: str, folder: Path, workdir: Path, label: str, args: argparse.Namespace):
    """Import, re-import and baseline on one fresh database of `kind`."""
    data = workdir / f"data-{label}-{kind}"
    shutil.rmtree(data, ignore_errors=True)
    env = {**os.environ, "ZHUCUN_DATA_DIR": str(data)}
    env.pop("ZHUCUN_DATABASE_URL", None)
    db = Database(kind, workdir, f"{label}_import", args.postgres_url)
    raw = Database(kind, workdir, f"{label}_raw", args.postgres_url)
    try:
        env["ZHUCUN_DATABASE_URL"] = db.url
        upgrade(db, env)
        argv = [sys.executable, "-m", "zhucun", "import", str(folder)]
        first = measure(argv, env)
        if first["rc"] != 0:
            raise SystemExit(f"import failed:\n{first['stderr'][-3000:]}{first['stdout']}")
        again = measure([*argv, "--json"], env)
        if again["rc"] != 0:
            raise SystemExit(f"re-import failed:\n{again['stderr'][-3000:]}")
        changed = sum(t["inserted"] + t["updated"] for t in json.loads(again["stdout"])["tables"])
        base = baseline(db, raw, env) if not args.no_baseline else None
        steps: dict[str, dict[str, float]] = {}
        rows: dict[str, int] = {}
        for line in first["stderr"].splitlines():
            m = STEP.match(line.strip())
            if m:
                phase, name, n, secs = m.groups()
                steps.setdefault(name, {})[phase] = float(secs)
                rows[name] = int(n.replace(",", ""))
        return {
            "database": kind,
            "rows": rows,
            "import_s": round(first["seconds"], 1),
            "import_load": first["load"],
            "peak_rss_mb": round(first["maxrss_kb"] / 1024, 1),
            "reimport_s": round(again["seconds"], 1),
            "reimport_load": again["load"],
            "reimport_changed_rows": changed,
            "reimport_peak_rss_mb": round(again["maxrss_kb"] / 1024, 1),
            "baseline": base,
            "steps_s": steps,
            "database_mb": db.size_mb(),
        }
    finally:
        if not args.keep:
            db.drop()
            shutil.rmtree(data, ignore_errors=True)
        raw.drop()


def run(households: int, workdir: Path, args: argparse.Namespace) -> dict:
    folder = workdir / f"county-{households}"
    complete = folder / ".complete"  # written after a generation that finished
    gen_s = None
    if not (args.reuse and complete.exists()):
        shutil.rmtree(folder, ignore_errors=True)
        gen_s = round(generate(args.county, folder, households, args.synthetic), 1)
        complete.touch()
    result = {
        "households_requested": households,
        "generate_s": gen_s,
        "input_mb": round(sum(p.stat().st_size for p in folder.glob("*.csv")) / 2**20, 1),
        "databases": [
            run_database(kind, folder, workdir, str(households), args) for kind in args.databases
        ],
    }
    if not (args.keep or args.reuse):
        shutil.rmtree(folder, ignore_errors=True)
    return result


def report(n: int, r: dict, county: str) -> None:
    generated = "reused" if r["generate_s"] is None else f"generated in {r['generate_s']} s"
    print(f"\n== {n:,} households (county {county}, input {r['input_mb']} MB, {generated}) ==")
    for d in r["databases"]:
        print(f"-- {d['database']}: " + ", ".join(f"{k} {v:,}" for k, v in d["rows"].items()))
        print(
            f"import {d['import_s']} s (load {d['import_load']}), peak RSS {d['peak_rss_mb']} MB"
            f"; re-import {d['reimport_s']} s (load {d['reimport_load']}), "
            f"{d['reimport_changed_rows']} rows changed; database {d['database_mb']} MB"
        )
        if d["baseline"]:
            b = d["baseline"]
            print(
                f"raw executemany of the same {b['rows']:,} rows: {b['seconds']} s "
                f"(load {b['load']})"
            )
        for name, phases in d["steps_s"].items():
            print(
                f"  {name:<16} check {phases.get('checking', 0):7.1f} s   "
                f"write {phases.get('writing', 0):7.1f} s"
            )
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, nargs="+", default=[200_000])
    parser.add_argument("--county", default="522626")
    parser.add_argument(
        "--databases", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ZHUCUN_TEST_POSTGRES_URL", POSTGRES_URL),
        help="a database on the server where the benchmark may create and drop databases",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--reuse", action="store_true", help="use (and keep) the folder already in --workdir"
    )
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="use the benchmark's own plain writer, not `zhucun generate`",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw executemany")
    parser.add_argument("--keep", action="store_true", help="keep folders and databases")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="zhucun-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.households:
        r = run(n, workdir, args)
        results.append(r)
        if not args.json:
            report(n, r, args.county)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
