"""Every CLI error is one short message and an exit code, never a traceback (issue 10,
point 6): each command of `zhucun --help` (subcommands included) run as an operator runs it,
in a subprocess, with hostile arguments — rich markup, ANSI escapes, a county not in the
database, an existing export file, unwritable and missing paths, a year before the policy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.registry_fixtures import V1, valid_folder
from tests.support.stack import zhucun

MARKUP = "[/]"
RED = "[bold red]x"
ANSI = "\x1b[31mred\x1b[0m"
NOWHERE = "/nonexistent/zhucun/folder"


def _cases(tmp: Path, registry: Path, existing: Path) -> list[tuple[list[str], int | None]]:
    """(arguments, expected exit: 0, None for 'not 0')."""
    bad = None
    unwritable = str(existing / "minutes.csv")  # under a file: refused even to root
    return [
        (["import", NOWHERE], bad),
        (["import", MARKUP], bad),
        (["import", str(registry), "--layout", RED], bad),
        (["export", str(existing)], bad),
        (["export", str(tmp / "out"), "--county", "999999"], bad),
        (["export", str(tmp / "out2"), "--county", MARKUP], bad),
        (["export", str(tmp / "out3"), "--encoding", ANSI], bad),
        (["export", str(tmp / "out4"), "--xlsx", unwritable], bad),
        (["generate", "--county", MARKUP, "--out", str(tmp / "g")], bad),
        (["generate", "--county", "999999", "--out", str(tmp / "g2")], bad),
        (["generate", "--county", "522626", "--out", unwritable, "--layout", RED], bad),
        (["generate", "--county", "522626", "--out", unwritable + "/\x1b[2J"], bad),
        (["evaluate", "--county", "999999", "--period", "2027-03"], bad),
        (["evaluate", "--county", ANSI, "--period", MARKUP], bad),
        (["demo", "--county", RED], bad),
        (["demo", "--county", "999999"], bad),
        (["object", "--household", MARKUP, "--reason", ANSI], bad),
        (["object", "--village", "999999999999", "--reason", RED], bad),
        (["check", "--county", "999999"], bad),
        (["check", "--county", ANSI], bad),
        (["db", "current"], 0),
        (["db", "upgrade", MARKUP], bad),
        (["policy", "show", "--year", "1"], bad),
        (["policy", "show", "--region", RED], bad),
        (["policy", "show", "--province", ANSI], bad),
        (["cycle", "run", "--county", "999999", "--year", "2026"], bad),
        (["cycle", "run", "--county", MARKUP, "--year", "2026"], bad),
        (["cycle", "run", "--county", "522626", "--year", "2026", "--decisions", NOWHERE], bad),
        (["causes", "--help"], 0),
        (["review", "list", "--county", "999999"], bad),
        (["review", "list", "--village", ANSI], bad),
        (["review", "decide", MARKUP, "--village", V1, "--all"], bad),
        (["review", "import", NOWHERE], bad),
        (["review", "import", str(existing)], bad),
        (["review", "minutes", "--county", "522626", "--out", unwritable], bad),
        (["review", "minutes", "--county", "999999", "--out", str(tmp / "m.csv")], bad),
        (["review", "notice", RED], bad),
        (["review", "notice", V1, "--out", unwritable], bad),
        (["review", "publicity", "--help"], 0),
        (["deploy", "yaml", "--county", MARKUP, "--out", "-"], bad),
        (["deploy", "yaml", "--out", unwritable], bad),
        (["status"], 0),
        (["down"], 0),
        (["up", "--county", ANSI], bad),
        (["--data-dir", str(existing / "data"), "export", str(tmp / "out5")], bad),
    ]


@pytest.mark.slow
def test_hostile_arguments_give_one_line_and_an_exit_code(tmp_path: Path) -> None:
    data = tmp_path / "data"
    registry = valid_folder(tmp_path / "registry")
    assert zhucun(data, "db", "upgrade").returncode == 0
    assert zhucun(data, "import", str(registry)).returncode == 0
    existing = tmp_path / "existing.csv"
    existing.write_text("x\n", "utf-8")
    problems, tried = [], 0
    cases = _cases(tmp_path, registry, existing)
    # Each case is its own process, as an operator runs it; three at a time (they spend
    # their time importing, and refuse before writing anything).
    with ThreadPoolExecutor(max_workers=3) as pool:
        outs = list(pool.map(lambda case: zhucun(data, *case[0], timeout=180), cases))
    for (args, expected), out in zip(cases, outs, strict=True):
        tried += 1
        text = out.stdout + out.stderr
        lines = [ln for ln in text.splitlines() if ln.strip()]
        wrong_code = out.returncode == 0 if expected is None else out.returncode != expected
        too_long = len(lines) > 6 if expected is None and out.returncode != 0 else False
        if wrong_code or "Traceback" in text or too_long or "\x1b" in text:
            problems.append(f"{args!r}: exit {out.returncode}\n{text[-700:]}")
    assert tried >= 40
    assert not problems, "\n\n".join(problems)


def test_demo_refuses_a_data_directory_holding_a_real_county(tmp_path: Path) -> None:
    """A registry imported by `zhucun import` is not demo data: demo stops before touching
    anything, in one line that names --data-dir."""
    data = tmp_path / "data"
    assert zhucun(data, "db", "upgrade").returncode == 0
    assert zhucun(data, "import", str(valid_folder(tmp_path / "registry"))).returncode == 0
    out = zhucun(data, "demo", "--county", "433124", "--households", "20")
    assert out.returncode == 2, out.stdout + out.stderr
    lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    assert len(lines) <= 3 and "--data-dir" in out.stderr and "522626" in out.stderr
    assert not (data / "demo").exists()
