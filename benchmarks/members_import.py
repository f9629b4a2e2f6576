"""Import a county of about a million members, from CSV and from xlsx, and measure it.

    python benchmarks/members_import.py                     # 270,000 poor households
    python benchmarks/members_import.py --households 20000  # a quick look
    python benchmarks/members_import.py --layout national   # the national export instead

The generator writes the county twice (zhucun's layout as CSV, then as one .xlsx per file);
each folder is imported by `zhucun import` in a subprocess with a fresh data directory (so
a fresh SQLite file), and the subprocess's wall time and peak RSS (ru_maxrss from wait4)
are printed. 270,000 poor households come with their edge households to about 300,000
households and a million members. Not a test: it takes minutes."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zhucun.generator import generate


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of a subprocess."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        assert proc.stderr is not None
        print(proc.stderr.read().decode()[-2000:], file=sys.stderr)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--county", default="433124")
    parser.add_argument("--households", type=int, default=270_000)
    parser.add_argument("--layout", choices=("zhucun", "national"), default="zhucun")
    parser.add_argument("--forms", nargs="+", choices=("csv", "xlsx"), default=["csv", "xlsx"])
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zhucun-members-bench-"))
    try:
        for form in args.forms:
            folder = work / form
            started = time.perf_counter()
            s = generate(
                args.county, folder, households=args.households, layout=args.layout,
                xlsx=form == "xlsx",
            )  # fmt: skip
            gen = time.perf_counter() - started
            members = s.rows.get(f"members.{form}") or s.rows.get(f"家庭成员.{form}", 0)
            households = s.rows.get(f"households.{form}", "-")
            size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            print(
                f"{form}: generated {households} households, {members:,} members "
                f"({args.layout} layout, {size:.0f} MB) in {gen:.1f} s",
                flush=True,
            )
            env = dict(os.environ, ZHUCUN_DATA_DIR=str(work / f"data-{form}"))
            env.pop("ZHUCUN_DATABASE_URL", None)
            cmd = [sys.executable, "-m", "zhucun", "import", str(folder), "--layout", args.layout]
            wall, rss, code = measure(cmd, env)
            print(
                f"{form}: zhucun import {'ok' if code == 0 else f'FAILED ({code})'} in "
                f"{wall:.1f} s, peak RSS {rss:.0f} MB",
                flush=True,
            )
            if not args.keep:
                shutil.rmtree(folder)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
