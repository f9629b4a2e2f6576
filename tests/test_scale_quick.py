"""`benchmarks/scale.py --quick` runs end to end and reports every stage (a format check:
timings on a shared machine are never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = (
    "causes",
    "analysis",
    "dispatch",
    "plans",
    "strategies",
    "review",
    "review-file",
    "evaluation",
    "monitoring",
)


@pytest.mark.slow
def test_scale_quick_lists_every_stage() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZHUCUN_", "PREFECT_"))}
    out = subprocess.run(
        # a small county keeps the suite quick: the report's shape is what is checked
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--quick", "--sizes", "800"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    assert "== first run:" in out and "== re-run:" in out, out
    for part in out.split("== ")[1:3]:
        rows = {line.split()[0] for line in part.splitlines()[2:] if line.strip()}
        assert set(STAGES) <= rows, (set(STAGES) - rows, out)
    assert "ms/household" in out and "task runs" in out and "orchestration" in out, out
    assert "raw-write baseline" in out and "x raw" in out, out
    assert "peak memory" in out, out
    assert "without Prefect" in out and "orchestration" in out.split("without Prefect")[1], out
