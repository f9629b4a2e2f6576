"""A run killed mid-way (SIGKILL) stays Running in Prefect; the next run of the same flow
and county marks it Crashed, because the process its `proc:` tag names is gone (issue 10,
point 6). The killed run is a real subprocess, blocked on a database lock so that it is
surely Running when killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.support.county import COUNTY, seed_county
from tests.support.stack import REPO_ROOT

pytestmark = pytest.mark.usefixtures("prefect_harness")
YEAR = 2026


def _runs(name: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterTags,
    )

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[name])),
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"county:{COUNTY}"])),
        )


def test_a_killed_run_is_marked_crashed_by_the_next_run_of_its_county(
    session: Session, data_dir: Path
) -> None:
    from prefect.settings import PREFECT_API_URL
    from zhucun.flows.causes import assess_causes

    seed_county(session, households_per_village=4, cycle_year=YEAR)
    session.commit()
    before = {r.id for r in _runs("assess-causes")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        PREFECT_HOME=os.environ["PREFECT_HOME"],
        ZHUCUN_DATA_DIR=str(data_dir),
    )
    code = f"from flows.causes import assess_causes; assess_causes('{COUNTY}', {YEAR})"
    lock = sqlite3.connect(data_dir / "zhucun.db", timeout=1, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # the run's first query waits (busy_timeout 30 s)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=REPO_ROOT, start_new_session=True
    )
    try:
        deadline, victim = time.monotonic() + 60, None
        while time.monotonic() < deadline and victim is None:
            new = [r for r in _runs("assess-causes") if r.id not in before]
            running = [r for r in new if r.state_type.value == "RUNNING"]
            if running and any(t.startswith("proc:") for t in running[0].tags):
                victim = running[0]
            time.sleep(0.3)
        assert victim is not None, "the subprocess run never showed as Running with its pid"
        assert f":{proc.pid}:" in next(t for t in victim.tags if t.startswith("proc:"))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.5)
    still = next(r for r in _runs("assess-causes") if r.id == victim.id)
    assert still.state_type.value == "RUNNING"  # nothing else would ever end it

    assess_causes(COUNTY, YEAR)  # the next run of the county

    after = next(r for r in _runs("assess-causes") if r.id == victim.id)
    assert after.state_type.value == "CRASHED", after.state
    assert str(proc.pid) in (after.state.message or "")
