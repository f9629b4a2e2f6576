"""A real, persistent Prefect server for end-to-end tests (UI included), separate from the
session's test harness: own home, own database, own port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from zhucun.stack import free_port, start_server, stop_process_group, wait_healthy


@contextmanager
def real_prefect_server(home: Path) -> Iterator[str]:
    """Yields the API URL (http://127.0.0.1:PORT/api); the UI is at the same host and port."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    proc = start_server(home, port, home / "server.log")
    try:
        wait_healthy(api, timeout=120, proc=proc)
        yield api
    finally:
        stop_process_group(proc.pid)
