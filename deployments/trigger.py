"""Start an assistance cycle through its deployment, once per scope and cycle.

Used by `zhucun cycle run --via-deployment`. The flow run carries an idempotency key built
from the county, the cycle year and (when given) the *content* of the decisions file: a
double click, a retried CLI call or two operators pressing the same button get the same flow
run back instead of starting a second cycle. A changed decisions file is a new action and
starts a new run; a deliberate re-run of a finished cycle passes `rerun="<anything new>"`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from zhucun.deployments.definitions import get_definition
from zhucun.tasks.common import Scope

CYCLE_DEPLOYMENT = "assistance-cycle"


def cycle_idempotency_key(
    county: str, cycle_year: int, decisions_file: str | None = None, rerun: str | None = None
) -> str:
    """`zhucun:assistance-cycle:<county>:<year>[:decisions:<sha256-12>][:rerun:<token>]`."""
    key = f"zhucun:{CYCLE_DEPLOYMENT}:{county}:{int(cycle_year)}"
    if decisions_file:
        digest = hashlib.sha256(Path(decisions_file).read_bytes()).hexdigest()[:12]
        key += f":decisions:{digest}"
    if rerun:
        key += f":rerun:{rerun}"
    return key


def cycle_parameters(county: str, cycle_year: int, decisions_file: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"county": county, "cycle_year": int(cycle_year)}
    if decisions_file:
        # The run may execute in another process or on a worker: pass an absolute path.
        params["decisions_file"] = str(Path(decisions_file).resolve())
    return params


def run_cycle_via_deployment(
    county: str,
    cycle_year: int,
    decisions_file: str | None = None,
    wait: bool = True,
    *,
    rerun: str | None = None,
    poll_interval: float = 2.0,
) -> str:
    """Create (or find, by idempotency key) the assistance-cycle flow run of this county and
    year; with `wait`, block until it is final. Returns the flow run id.

    Needs PREFECT_API_URL pointing at a server where the deployment is registered
    (`zhucun up`, or `prefect deploy` on a cluster)."""
    from prefect.deployments import run_deployment

    county = Scope(county=county).county
    definition = get_definition(CYCLE_DEPLOYMENT)
    flow_run = run_deployment(
        name=definition.full_name,
        parameters=cycle_parameters(county, cycle_year, decisions_file),
        # the name the flow gives itself on starting, shown from the moment it is scheduled
        flow_run_name=f"cycle-{county}-{int(cycle_year)}",
        idempotency_key=cycle_idempotency_key(county, cycle_year, decisions_file, rerun),
        tags=[f"county:{county}", f"cycle:{int(cycle_year)}"],
        timeout=None if wait else 0,
        poll_interval=poll_interval,
        as_subflow=False,
    )
    return str(flow_run.id)
