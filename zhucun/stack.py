"""Start and stop a persistent Prefect server as a child process.

Used by `zhucun up` and by end-to-end tests. The server gets its own PREFECT_HOME (so its
own SQLite database, never zhucun's), telemetry off (works offline), and
PREFECT_UI_API_URL pointing at its own port so the UI finds its API.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_env(
    home: Path, api_url: str | None = None, auth: str | None = None, **extra: str
) -> dict[str, str]:
    """Environment for a Prefect process (server, worker, CLI) of this stack; `auth`
    ('user:password') is what a client sends (PREFECT_API_AUTH_STRING)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if auth:
        env["PREFECT_API_AUTH_STRING"] = auth
    env.update(extra)
    return env


def auth_headers(auth: str | None) -> dict[str, str]:
    """The HTTP Basic header Prefect's server checks (PREFECT_SERVER_API_AUTH_STRING)."""
    if not auth:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(auth.encode("utf-8")).decode("ascii")}


def start_server(
    home: Path,
    port: int,
    log_path: Path,
    host: str = "127.0.0.1",
    auth: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `prefect server start` in its own process group; returns at once. With `auth`
    ('user:password') every API request but /health needs HTTP Basic credentials;
    `extra_env` adds settings, e.g. PREFECT_SERVER_DATABASE_CONNECTION_URL (PostgreSQL)."""
    home.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    api = f"http://{host}:{port}/api"
    env = prefect_env(
        home,
        PREFECT_UI_API_URL=api,
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
    )
    if auth:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth
    env.update(extra_env or {})
    prefect_bin = Path(sys.executable).with_name("prefect")
    cmd = [
        str(prefect_bin) if prefect_bin.exists() else "prefect",
        "server",
        "start",
        "--host",
        host,
        "--port",
        str(port),
    ]
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        cmd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_healthy(
    api_url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Prefect server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        time.sleep(0.5)
    raise TimeoutError(f"Prefect server at {api_url} not healthy after {timeout}s: {last}")


def stop_process_group(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after `timeout` seconds."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def running_stack_api(data_dir: Path, timeout: float = 1.0) -> str | None:
    """The API URL of the local stack (`zhucun up`) when its state file names one that
    answers /health now; None when no stack is up (or its state file is stale)."""
    import json

    try:
        state = json.loads((data_dir / "stack" / "state.json").read_text("utf-8"))
        api_url = str(state["api_url"]).rstrip("/")
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as r:
            return api_url if r.status == 200 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
