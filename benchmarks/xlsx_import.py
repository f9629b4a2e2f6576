"""Reading benchmark: time and peak RSS of reading a wide sheet as CSV and as .xlsx.

    python benchmarks/xlsx_import.py --rows 200000 [--columns 30] [--readers own,csv]

Writes one table of N rows x 30 columns (IDs stored as numbers, Chinese text, dates with a
date style, decimals, booleans) as UTF-8 CSV, GB18030 CSV and .xlsx (openpyxl write_only:
shared strings, as Excel writes them), then reads each in a child process and prints wall
time and the child's peak RSS (`ru_maxrss`). Readers:

- `csv`, `gb18030`: zhucun's source opener on the CSV files;
- `own`: zhucun's source opener on the .xlsx (the streaming zipfile + iterparse reader);
- `openpyxl`: openpyxl `load_workbook(read_only=True)` iter_rows(values_only=True);
- `calamine`: python-calamine get_sheet_by_name().iter_rows() (if installed).

Not a test: run it by hand and compare."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

READ = r"""
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
t = time.perf_counter()
rows = cells = 0
if kind in ("csv", "gb18030", "own"):
    from zhucun.exchange.sources import open_table
    with open_table(path) as f:
        f.read_header()
        for _line, row in f.rows():
            rows += 1
            cells += len(row)
elif kind == "openpyxl":
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True)
    for row in wb.active.iter_rows(values_only=True):
        rows += 1
        cells += len(row)
    wb.close()
elif kind == "calamine":
    import python_calamine
    wb = python_calamine.CalamineWorkbook.from_path(path)
    for row in wb.get_sheet_by_index(0).iter_rows():
        rows += 1
        cells += len(row)
took = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "cells": cells, "seconds": took, "maxrss_mb": peak / 1024}))
"""


def table(n: int, columns: int) -> tuple[list[str], list[list[object]]]:
    """A header and n rows; the generator is cheap, so it is called once per file."""
    header = [f"col{i:02d}" for i in range(columns)]
    header[:6] = ["household_id", "id_number", "head_name", "survey_date", "income", "poor"]
    start = date(2020, 1, 1)
    rows: list[list[object]] = []
    for i in range(n):
        row: list[object] = [
            f"H{i:07d}",
            522626199001010000 + i,
            f"王{'明芳伟洋'[i % 4]}{i % 97}",
            start + timedelta(days=i % 1500),
            round(3000 + (i % 977) * 1.25, 2),
            i % 3 == 0,
        ]
        row += [f"村{(i + k) % 50}" if k % 2 else (i * k) % 1000 for k in range(columns - 6)]
        rows.append(row)
    return header, rows


def as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_files(folder: Path, n: int, columns: int) -> dict[str, Path]:
    import openpyxl

    header, rows = table(n, columns)
    paths = {"csv": folder / "wide.csv", "gb18030": folder / "wide-gb.csv"}
    for kind, encoding in (("csv", "utf-8"), ("gb18030", "gb18030")):
        with open(paths[kind], "w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows([as_text(v) for v in row] for row in rows)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("wide")
    ws.append(header)
    for row in rows:
        ws.append(row)
    paths["own"] = folder / "wide.xlsx"
    wb.save(paths["own"])
    paths["openpyxl"] = paths["calamine"] = paths["own"]
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--columns", type=int, default=30)
    parser.add_argument("--readers", default="csv,gb18030,own,openpyxl,calamine")
    parser.add_argument("--folder", type=Path, default=None, help="keep the files here")
    parser.add_argument("--reuse", action="store_true", help="read files already in --folder")
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="zhucun-xlsx-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.write:  # the child that writes: its memory never counts for a reader
        write_files(folder, args.rows, args.columns)
        return
    paths = {"csv": folder / "wide.csv", "gb18030": folder / "wide-gb.csv"}
    paths["own"] = paths["openpyxl"] = paths["calamine"] = folder / "wide.xlsx"
    if not (args.reuse and paths["own"].exists()):
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--write",
                "--folder",
                str(folder),
                "--rows",
                str(args.rows),
                "--columns",
                str(args.columns),
            ],
            check=True,
        )
    print(
        f"wrote {args.rows:,} rows x {args.columns} columns in "
        f"{time.perf_counter() - started:.1f} s to {folder}"
    )
    for path in sorted(set(paths.values())):
        print(f"  {path.name}: {path.stat().st_size / 1e6:.1f} MB")
    for kind in args.readers.split(","):
        out = subprocess.run(
            [sys.executable, "-c", READ, kind, str(paths[kind])], capture_output=True, text=True
        )
        if out.returncode != 0:
            print(f"{kind:9s} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout)
        print(
            f"{kind:9s} {r['rows']:>9,} rows {r['seconds']:7.1f} s  "
            f"peak RSS {r['maxrss_mb']:7.0f} MB"
        )


if __name__ == "__main__":
    main()
