"""The single-machine runner: registers every deployment of `definitions.py` and runs them.

`zhucun up` starts this as a background process with PREFECT_API_URL pointing at the local
server (`python -m deployments.serve`). One process polls for scheduled and triggered runs
and runs each in a subprocess. Schedules are left active when it stops
(`pause_on_shutdown=False`, DESIGN §4): the next `zhucun up` picks them up again.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from zhucun.deployments.definitions import DEPLOYMENTS, REPO_ROOT, DeploymentDef, configured_county

log = logging.getLogger("zhucun.serve")


def load_flow(d: DeploymentDef) -> Any:
    """The flow object behind a definition (its file resolved from the repository root)."""
    from prefect.flows import load_flow_from_entrypoint

    path, func = d.entrypoint.split(":", 1)
    return load_flow_from_entrypoint(f"{REPO_ROOT / path}:{func}")


def runner_deployment(d: DeploymentDef, county: str | None) -> Any:
    from prefect.schedules import Cron

    schedules = None
    if d.schedule is not None:
        schedules = [
            Cron(d.schedule.cron, timezone=d.schedule.timezone, active=d.schedule_active(county))
        ]
    return load_flow(d).to_deployment(
        name=d.name,
        description=d.description,
        tags=d.tags(county),
        parameters=d.default_parameters(county),
        schedules=schedules,
        # The flows validate codes themselves (an int from `-p county=522626` is accepted
        # and turned into a str); the server-side JSON-schema check would refuse it first.
        enforce_parameter_schema=False,
    )


def build_deployments(
    county: str | None = None, *, strict: bool = False
) -> tuple[list[Any], list[str]]:
    """RunnerDeployments for every definition whose flow module exists; the names of the
    missing ones (a flow another engineer has not landed yet) unless `strict`."""
    built, missing = [], []
    for d in DEPLOYMENTS:
        if not strict and not d.module_path.exists():
            missing.append(d.name)
            continue
        built.append(runner_deployment(d, county))
    return built, missing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--county", default=None, help="default county of scheduled runs")
    parser.add_argument("--limit", type=int, default=None, help="concurrent flow runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    os.chdir(REPO_ROOT)  # entrypoints are relative to the repository root
    county = args.county or configured_county()
    deployments, missing = build_deployments(county)
    if missing:
        log.warning("not served (flow module missing): %s", ", ".join(missing))
    from prefect import serve

    serve(*deployments, pause_on_shutdown=False, limit=args.limit, print_starting_message=True)


if __name__ == "__main__":
    main()
