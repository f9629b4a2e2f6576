"""Runs whose process died stay `Running` in Prefect for ever (a SIGKILL, an OOM kill, a
power cut: nothing reports the end). Each zhucun flow run tags itself with its process —
`proc:<host>:<pid>:<start>` (the start time from /proc tells a reused pid apart) — and when
a run of a county starts, it marks the `Running` runs of the same flow and county whose
process on this host is gone as `Crashed`. Runs of another host are left alone: from here
nothing tells whether their process lives."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

PROC_TAG = "proc:"


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' where /proc is absent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def process_tag(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{PROC_TAG}{socket.gethostname()}:{pid}:{_start_time(pid)}"


def process_gone(tag: str) -> bool:
    """True when `tag` names a process of this host that no longer runs."""
    try:
        host, pid_s, start = tag.removeprefix(PROC_TAG).rsplit(":", 2)
        pid = int(pid_s)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return bool(start) and _start_time(pid) != start  # the pid now belongs to another


def crash_stale_runs(client: Any, flow_name: str, county: str, current: Any) -> list[str]:
    """Mark Running runs of `flow_name` for `county` whose process is gone as Crashed;
    returns their names."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"county:{county}"]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
        ),
    )
    crashed = []
    for run in runs:
        if str(run.id) == str(current):
            continue
        procs = [t for t in run.tags if t.startswith(PROC_TAG)]
        if procs and all(process_gone(t) for t in procs):
            client.set_flow_run_state(
                run.id,
                Crashed(
                    message=f"its process ({procs[0].removeprefix(PROC_TAG)}) is gone; marked "
                    f"by the next run of county {county} ({current})"
                ),
                force=True,
            )
            crashed.append(run.name)
    return crashed
