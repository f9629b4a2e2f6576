"""What `benchmarks/scale.py` measures with: memory and load sampling, row counts, the raw
`executemany` baseline, and fresh PostgreSQL databases."""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from pathlib import Path


class Sampler(threading.Thread):
    """Samples this process' RSS and the load average every 0.2 s, so each stage's window
    (from the Prefect API's start and end times) gets its own peak and load."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int, float]] = []
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            self.samples.append((time.time(), rss_kb(), os.getloadavg()[0]))
            time.sleep(0.2)

    def window(self, t0: float, t1: float) -> tuple[float, float]:
        """(peak RSS in MB, highest 1-minute load) between t0 and t1."""
        inside = [s for s in self.samples if t0 - 0.2 <= s[0] <= t1 + 0.2] or self.samples[-1:]
        return max(s[1] for s in inside) / 1024, max(s[2] for s in inside)


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of intervals (threads overlap)."""
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def row_counts(db: Path | None, tables: list[str]) -> dict[str, int]:
    """Rows per table (SQLite file, or zhucun's configured database when `db` is None)."""
    if db is not None:
        with sqlite3.connect(db) as con:
            return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    from sqlalchemy import text

    from zhucun.db import get_engine

    with get_engine().connect() as con:
        return {t: con.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def raw_write(db: Path, tables: tuple[str, ...], work: Path) -> tuple[int, float]:
    """Rows of `tables` rewritten with plain executemany into an empty copy of their schema:
    (rows, seconds of the writes and commits only)."""
    target = work / f"raw-{tables[0]}.db"
    target.unlink(missing_ok=True)
    src = sqlite3.connect(db)
    dst = sqlite3.connect(target)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("PRAGMA synchronous=NORMAL")
    dst.execute("PRAGMA cache_size=-131072")  # as zhucun's connections
    for t in tables:
        for (sql,) in src.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type = 'index'",
            (t,),
        ):
            dst.execute(sql)
    n, seconds = 0, 0.0
    for t in tables:
        cur = src.execute(f'SELECT * FROM "{t}"')
        marks = ", ".join("?" * len(cur.description))
        # in batches: a whole table in memory made this script's peak the benchmark's
        while rows := cur.fetchmany(100_000):
            n += len(rows)
            t0 = time.perf_counter()
            dst.executemany(f'INSERT INTO "{t}" VALUES ({marks})', rows)
            seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        dst.commit()
        seconds += time.perf_counter() - t0
    src.close()
    dst.close()
    return n, seconds


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def create_pg_database(size: int) -> str:
    """A fresh PostgreSQL database for one size; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"zhucun_scale_{size}_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()
