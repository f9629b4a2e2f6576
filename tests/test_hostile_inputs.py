"""Generated hostile input (issue 10): import folders and decisions files with cells an
attacker or an unlucky clerk would type — formulas, control characters, other digit forms,
huge numbers, very long fields, stray quotes, bytes that are not text. Whatever arrives,
the import ends in a result (never an exception) and a refused folder changes nothing.

`ZHUCUN_HOSTILE_EXAMPLES` sets how many folders and files are generated (CI: 100 of each;
the figures in the closing note came from 1,000)."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from tests.support.registry_fixtures import registry_rows, write_folder
from zhucun.exchange.importer import import_folder

EXAMPLES = int(os.environ.get("ZHUCUN_HOSTILE_EXAMPLES", "100"))
ROWS = registry_rows()
FILES = sorted(ROWS)

HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            '=HYPERLINK("http://x")',
            "+cmd|' /C calc'!A0",
            "@SUM(1+1)",
            "-1e400",
            "9" * 40,
            "1" * 19,
            "５２２６２６１９７００３０１００１１",
            "٥٢٢٦٢٦١٩٧٠٠٣٠١٠٠١١",
            "⁵²²⁶²⁶¹⁹⁷⁰⁰³⁰¹⁰⁰¹¹",
            "[/]",
            "[bold red]x",
            "\x1b[2J\x1b[31m",
            "nan",
            "inf",
            "0x1F",
            "1_000",
            "\u202e反转",
            "是否",
            "",
            " ",
            '"',
            "a\nb",
            "\x00",
        ]
    ),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.builds(lambda n: "x" * n, st.integers(min_value=100_000, max_value=1_200_000)),
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A database holding the clean registry, and its bytes to compare against."""
    root = tmp_path_factory.mktemp("hostile")
    db = root / "base.db"
    result = import_folder(write_folder(root / "clean", registry_rows()), url=f"sqlite:///{db}")
    assert result.ok, result.errors
    from zhucun.db import engine_for

    engine_for(f"sqlite:///{db}").dispose()
    return {"root": root, "db": db}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    file=st.sampled_from(FILES),
    row=st.integers(min_value=0, max_value=3),
    column=st.integers(min_value=0, max_value=40),
    value=HOSTILE_TEXT,
    raw=st.one_of(st.none(), st.binary(min_size=1, max_size=64)),
)
def test_a_hostile_folder_ends_in_a_result_and_a_refusal_writes_nothing(
    base: dict[str, Path], file: str, row: int, column: int, value: str, raw: bytes | None
) -> None:
    case = base["root"] / "case"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir()
    db = case / "zhucun.db"
    shutil.copy(base["db"], db)
    rows = registry_rows()
    records = rows[file]
    if records:
        target = records[row % len(records)]
        key = list(target)[column % len(target)]
        target[key] = value
    folder = write_folder(case / "in", rows)
    if raw is not None:  # bytes that may not be text in any encoding
        with open(folder / file, "ab") as fh:
            fh.write(raw)
    before = _digest(db)
    url = f"sqlite:///{db}"
    result = import_folder(folder, url=url)  # must not raise
    from zhucun.db import engine_for

    engine_for(url).dispose()
    if not result.ok:
        assert result.errors and all("\n" not in e and "Traceback" not in e for e in result.errors)
        assert _digest(db) == before, (file, key if records else None, result.errors[:3])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cells=st.lists(st.lists(HOSTILE_TEXT, min_size=1, max_size=9), min_size=0, max_size=4),
    header_ok=st.booleans(),
    raw=st.one_of(st.none(), st.binary(min_size=1, max_size=64)),
)
def test_a_hostile_decisions_file_is_refused_in_lines_and_writes_nothing(
    base: dict[str, Path], cells: list[list[str]], header_ok: bool, raw: bytes | None
) -> None:
    from zhucun.tasks.review import ReviewError, apply_decisions_file

    case = base["root"] / "decisions"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir()
    db = case / "zhucun.db"
    shutil.copy(base["db"], db)
    path = case / "decisions.csv"
    header = ["stage", "subject", "subject_id", "reviewer_id", "decision", "reason", "decided_on"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header if header_ok else cells[0] if cells else [])
        writer.writerows(cells)
    if raw is not None:
        with open(path, "ab") as fh:
            fh.write(raw)
    before = _digest(db)
    from zhucun.db import engine_for

    engine = engine_for(f"sqlite:///{db}")
    with Session(engine) as session:
        try:
            res = apply_decisions_file(session, path, cycle_year=2026)
        except ReviewError as exc:  # a refusal the CLI prints as one line
            assert "\n" not in str(exc)
            res = None
        if res is not None and res.ok:
            session.commit()  # as the CLI does: only a file that passed is kept
        else:
            session.rollback()
    engine.dispose()
    if res is not None:
        assert all("\n" not in e and "Traceback" not in e for e in res.errors)
    if res is None or not res.ok:
        assert _digest(db) == before
