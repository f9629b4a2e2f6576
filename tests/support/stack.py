"""The local stack for end-to-end tests: `zhucun up` in a subprocess, as an operator runs it,
and small helpers over the Prefect REST API and CLI of that stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from zhucun.db import engine_for
from zhucun.stack import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ZHUCUN = [sys.executable, "-m", "zhucun"]
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def operator_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """An operator's shell: no PREFECT_* from the test session, zhucun's data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ZHUCUN_"))}
    env.update(
        ZHUCUN_DATA_DIR=str(data_dir), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1"
    )
    env.update(extra)
    return env


def zhucun(data_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZHUCUN, *args],
        env=operator_env(data_dir),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def local_stack(data_dir: Path, county: str | None = None) -> Iterator[dict[str, Any]]:
    """`zhucun up --json` (on a free port), yields its state (api_url, ui_url, ...), `zhucun
    down`. What `up --json` printed must agree with the state file it wrote."""
    args = ["up", "--port", str(free_port()), "--json"]
    if county:
        args += ["--county", county]
    up = zhucun(data_dir, *args)
    assert up.returncode == 0, up.stdout + up.stderr
    state = json.loads((data_dir / "stack" / "state.json").read_text("utf-8"))
    printed = json.loads(up.stdout)
    assert printed["up"] and not printed["already_up"], printed
    assert (printed["ui_url"], printed["api_url"], printed["county"]) == (
        state["ui_url"],
        state["api_url"],
        state["county"],
    )
    try:
        yield state
    finally:
        zhucun(data_dir, "down", "--json")


def app_engine(data_dir: Path) -> Engine:
    """zhucun's database of the stack (the same file the served flows write)."""
    return engine_for(f"sqlite:///{data_dir / 'zhucun.db'}")


def api(api_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call to the stack's API. Retried on 503, as Prefect's own client retries it: the
    server answers 503 when its SQLite database is locked by its own services (the
    scheduler filling a fresh stack's schedules), and nothing was written."""
    req = urllib.request.Request(
        f"{api_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    for attempt in range(6):
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
            return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or attempt == 5:
                raise
            time.sleep(0.5 * 2**attempt)


def prefect_cli(
    state: dict[str, Any], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The Prefect CLI pointed at the stack, as `export PREFECT_API_URL=...` would."""
    env = operator_env(
        Path(state["prefect_home"]).parent,
        PREFECT_API_URL=state["api_url"],
        PREFECT_HOME=state["prefect_home"],
    )
    prefect = Path(sys.executable).with_name("prefect")
    return subprocess.run(
        [str(prefect), *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for_runs(
    api_url: str, flow_run_filter: dict[str, Any], timeout: float = 240, final: bool = True
) -> list[dict[str, Any]]:
    """Poll until at least one matching flow run exists (and, with `final`, all are final)."""
    deadline = time.monotonic() + timeout
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = api(api_url, "/flow_runs/filter", {"flow_runs": flow_run_filter})
        if runs and (not final or all(r["state_type"] in FINAL for r in runs)):
            return runs
        time.sleep(1)
    raise TimeoutError(f"flow runs {flow_run_filter} not done in {timeout}s: {runs}")
