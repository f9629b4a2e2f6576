"""Generate a small registry for every one of the 832 poverty counties and check it imports.

    python benchmarks/generate_all_counties.py                  # import_folder, fresh SQLite each
    python benchmarks/generate_all_counties.py --mode validate  # pass 1 only (about 4x faster)
    python benchmarks/generate_all_counties.py --counties 130624 433124 --year 2015

The generator must give an importable folder for any county of the list, whatever shape
its reference data has (townships without villages, very few townships, real sample
villages). A test covers a stratified sample (tests/test_generator_counties.py); this
script covers all 832, which takes minutes, so it is a benchmark, not a test. `import`
runs `import_folder` into a new SQLite database per county (Alembic included); `validate`
runs only the importer's pass 1 (its `Validator`, an internal API that may move).
Failures are grouped by error class (the message without its line number)."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from zhucun.exchange.importer import import_folder
from zhucun.generator import generate
from zhucun.generator.geography import poverty_county_codes

LINE_NO = re.compile(r":\d+:")


def check_folder(folder: Path, mode: str, work: Path) -> list[str]:
    """The errors the importer reports for `folder` (empty when it would import)."""
    if mode == "import":
        url = f"sqlite:///{work / 'zhucun.db'}"
        result = import_folder(folder, url=url, max_errors=20)
        return result.errors
    from zhucun.exchange.reader import Issues
    from zhucun.exchange.validate import RegistryDB, Validator, present_files

    issues = Issues(keep=20)
    validator = Validator(RegistryDB(None), issues, ignore_unknown=False, batch_size=2000)
    validator.run(folder, present_files(folder))
    return issues.errors


def run_one(code: str, households: int | None, seed: int, year: int, mode: str) -> list[str]:
    """Generate and check one county in a throw-away folder; exceptions count as errors."""
    work = Path(tempfile.mkdtemp(prefix=f"zhucun-{code}-"))
    try:
        try:
            generate(code, work / "registry", seed=seed, households=households, year=year)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports every failure
            return [f"generate: {type(exc).__name__}: {exc}"]
        try:
            return check_folder(work / "registry", mode, work)
        except Exception as exc:  # noqa: BLE001
            return [f"import: {type(exc).__name__}: {exc}"]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counties", nargs="*", help="county codes (default: all 832)")
    parser.add_argument("--households", type=int, default=50)
    parser.add_argument(
        "--realistic", action="store_true", help="the generator's own household count (slow)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--mode", choices=("import", "validate"), default="import")
    args = parser.parse_args(argv)

    codes = args.counties or poverty_county_codes()
    failures: dict[str, list[str]] = {}
    classes: dict[str, set[str]] = defaultdict(set)
    times: list[tuple[float, str]] = []
    started = time.perf_counter()
    for i, code in enumerate(codes, 1):
        t = time.perf_counter()
        households = None if args.realistic else args.households
        errors = run_one(code, households, args.seed, args.year, args.mode)
        times.append((time.perf_counter() - t, code))
        if errors:
            failures[code] = errors
            for e in errors:
                classes[LINE_NO.sub(":", e, count=1)].add(code)
            print(f"FAIL {code}: {errors[0]}", flush=True)
        if i % 100 == 0:
            print(f"... {i}/{len(codes)} in {time.perf_counter() - started:.0f} s", flush=True)
    total = time.perf_counter() - started

    print(f"\n{len(codes)} counties, {len(failures)} failed, {total:.1f} s in all")
    times.sort(reverse=True)
    mean = total / max(1, len(codes))
    print(
        f"mean {mean:.2f} s per county; slowest: "
        + ", ".join(f"{c} {s:.2f} s" for s, c in times[:5])
    )
    if classes:
        print("failure classes (counties):")
        for rule, where in sorted(classes.items(), key=lambda kv: -len(kv[1])):
            sample = " ".join(sorted(where)[:8])
            print(f"  {len(where):4d}  {rule}  e.g. {sample}")
        by_first = Counter(LINE_NO.sub(":", e[0], count=1) for e in failures.values())
        print(f"{len(by_first)} distinct first errors")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
