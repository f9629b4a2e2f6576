"""A province's assistance cycle: one `assistance-cycle` deployment run per county, fanned out
to the work pool's workers (several machines), then waited for.

Why county runs are *top-level* deployment runs (`as_subflow=False`), not subflows:
- each is a run of its own on whichever worker picks it up, so counties run in parallel
  on as many machines as poll the pool, and this run only waits (it holds no county's work);
- a county run must outlive the province run that started it: Prefect cancels the child runs
  of a cancelled parent, and a crashed coordinator must not take the counties with it;
- a county run belongs to its county and cycle, not to one province run: its idempotency key
  is the one `zhucun cycle run --via-deployment` uses (`deployments.trigger`), so a re-run of
  the province, a second operator or the CLI all find the same run instead of a second one.

Re-runs. A county whose latest run completed is counted as done (no new run). One still
scheduled or running is waited for. One whose latest run Failed or Crashed is re-run exactly
once per province run, as a **new run with the next attempt number in its idempotency key**
(`zhucun:assistance-cycle:<county>:<year>:rerun:attempt-<n>`, n found from the county's
existing runs): two province runs racing over the same failure create one attempt between
them (the server returns the run a key already has), and each attempt keeps its own logs.
A cancelled run is an operator's decision and is left alone (reported, not re-run).

Counts and codes only in logs, artifacts and the return value; the county's name (a place)
is the only name shown.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

from prefect import flow, get_run_logger
from pydantic import BeforeValidator, Field
from zhucun.flows.common import artifact_key
from zhucun.flows.parameters import CycleYear, _as_code

CYCLE_DEPLOYMENT = "assistance-cycle/assistance-cycle"
ATTEMPT_PREFIX = "attempt-"
RERUN_STATES = {"FAILED", "CRASHED"}
LEFT_ALONE_STATES = {"CANCELLED", "CANCELLING"}
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
ACTIONS = ("started", "rerun", "done", "waiting", "cancelled")
READ_BATCH = 100  # flow runs per API read (the server caps a page at 200)

ProvinceCode = Annotated[
    str,
    Field(pattern=r"^\d{2}$", description="Province code, 2 digits (GB/T 2260), e.g. 52"),
    BeforeValidator(_as_code),
]


class ParameterProblem(ValueError):
    """A parameter names no county to run: reported in one line, without a traceback."""


def _label(province: Any, counties: Any) -> str:
    if province not in (None, ""):
        return str(province)
    prefixes = sorted({str(c).strip()[:2] for c in counties or []})
    return "+".join(prefixes) or "none"


def _run_name() -> str:
    """`province-<code>-<year>`; with only a county list, the provinces of its codes."""
    from prefect.runtime import flow_run

    p = flow_run.parameters
    return f"province-{_label(p.get('province'), p.get('counties'))}-{p.get('cycle_year')}"


@flow(name="province-cycle", flow_run_name=_run_name)
def province_cycle(
    cycle_year: CycleYear,
    province: ProvinceCode | None = None,
    counties: list[str] | None = None,
    timeout_minutes: float = 240,
    poll_seconds: float = 5,
) -> Any:
    """Start (or find) one assistance-cycle run per county, wait for them all, leave a table.

    Args:
        cycle_year: The cycle year, e.g. 2026.
        province: Province code, 2 digits, e.g. 52: every county of that province in
            zhucun's database with registered households (unless `counties` is given).
        counties: Only these counties (6-digit codes); they must be in the database (and
            in `province`, when both are given).
        timeout_minutes: How long to wait for the county runs; the runs go on after it, and
            a re-run of this flow waits for them again.
        poll_seconds: How often the county runs' states are read from the API.
    """
    from prefect.states import Failed

    logger = get_run_logger()
    try:
        codes = resolve_counties(province, counties)
        deployment_id = cycle_deployment_id()
    except ParameterProblem as exc:
        logger.error("%s", exc)
        return Failed(message=str(exc))
    started = {c: start_county(deployment_id, c, cycle_year) for c in codes}
    counts = {a: sum(1 for _, act in started.values() if act == a) for a in ACTIONS}
    logger.info(
        "%d counties: %d started, %d re-run, %d already completed, %d already under way, "
        "%d cancelled (left alone)",
        len(codes), counts["started"], counts["rerun"], counts["done"], counts["waiting"],
        counts["cancelled"],
    )  # fmt: skip
    final = wait_for_runs(
        {c: run for c, (run, _) in started.items()}, timeout_minutes * 60, poll_seconds
    )
    rows = result_rows(codes, started, final, cycle_year)
    publish_table(rows, _label(province, codes), cycle_year)
    states = [r["state"] for r in rows]
    summary = {
        "province": _label(province, codes),
        "cycle_year": cycle_year,
        "counties": len(codes),
        "completed": states.count("COMPLETED"),
        "failed": sum(1 for s in states if s in RERUN_STATES),
        "cancelled": sum(1 for s in states if s in LEFT_ALONE_STATES),
        "not_final": sum(1 for s in states if s not in FINAL_STATES),
        **{f"runs_{a}": n for a, n in counts.items()},
    }
    logger.info("province %s %d: %s", summary["province"], cycle_year, summary)
    if summary["completed"] < len(codes):
        behind = [r["county"] for r in rows if r["state"] != "COMPLETED"]
        message = (
            f"{len(behind)} of {len(codes)} counties not completed ({', '.join(behind[:10])}); "
            "a re-run of province-cycle re-runs the failed ones once and waits for the others"
        )
        logger.error("%s", message)
        return Failed(message=message)
    return summary


def resolve_counties(province: str | None, counties: list[str] | None) -> list[str]:
    """The counties to run, checked against zhucun's database (codes only in messages)."""
    from sqlalchemy import exists, select
    from zhucun.models import County, Household, Village

    from zhucun.db import session_scope
    from zhucun.generator.geography import poverty_county_codes

    if province is not None and province not in {c[:2] for c in poverty_county_codes()}:
        raise ParameterProblem(
            f"province {province!r} has none of the 832 national poverty counties "
            "(2-digit GB/T 2260 code, e.g. 52 for Guizhou)"
        )
    codes = [_as_code(c) for c in counties or []]
    bad = [str(c) for c in codes if not re.fullmatch(r"\d{6}", str(c))]
    if bad:
        raise ParameterProblem(f"county codes must be 6 digits: {', '.join(bad[:5])}")
    if province and codes and (outside := [c for c in codes if not c.startswith(province)]):
        raise ParameterProblem(f"counties not in province {province}: {', '.join(outside[:5])}")
    if not province and not codes:
        raise ParameterProblem("give a province (2 digits) or a list of counties (6 digits)")
    registered = (
        exists()
        .where(Village.county_code == County.county_code)
        .where(Household.village_code == Village.village_code)
        .where(Household.registered_poor.is_(True))
    )
    with session_scope() as session:
        stmt = select(County.county_code).where(registered)
        if codes:
            stmt = stmt.where(County.county_code.in_(codes))
        else:
            stmt = stmt.where(County.county_code.like(f"{province}%"))
        found = set(session.scalars(stmt))
    if codes:
        missing = [c for c in dict.fromkeys(codes) if c not in found]
        if missing:
            raise ParameterProblem(
                "counties without registered households in zhucun's database: "
                + ", ".join(missing[:10])
                + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
            )
        return list(dict.fromkeys(codes))
    if not found:
        raise ParameterProblem(
            f"no county of province {province} has registered households in zhucun's "
            "database: import the registries first (`zhucun import`)"
        )
    return sorted(found)


def cycle_deployment_id() -> Any:
    """The assistance-cycle deployment's id; a one-line error where it is not registered."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(CYCLE_DEPLOYMENT).id
        except ObjectNotFound:
            raise ParameterProblem(
                f"deployment {CYCLE_DEPLOYMENT} is not registered on this Prefect server: "
                "`prefect deploy --all --prefect-file deployments/prefect.yaml` (or `zhucun up`)"
            ) from None


def attempt_of(key: str | None, county: str, cycle_year: int) -> int | None:
    """1 for the cycle's own key, n for `...:rerun:attempt-<n>`, None for any other run
    (e.g. one started with a decisions file: another action, not this one)."""
    from zhucun.deployments.trigger import cycle_idempotency_key

    base = cycle_idempotency_key(county, cycle_year)
    if key == base:
        return 1
    suffix = (key or "").removeprefix(f"{base}:rerun:{ATTEMPT_PREFIX}")
    return int(suffix) if suffix != key and suffix.isdigit() else None


def decide(attempts: dict[int, str]) -> tuple[int | None, str]:
    """From a county's attempts (number → state): the attempt to create (None: create
    nothing) and what that means — started, rerun, done, waiting or cancelled."""
    if not attempts:
        return 1, "started"
    latest = max(attempts)
    state = attempts[latest]
    if state == "COMPLETED":
        return None, "done"
    if state in LEFT_ALONE_STATES:
        return None, "cancelled"
    if state in RERUN_STATES:
        return latest + 1, "rerun"
    return None, "waiting"


def start_county(deployment_id: Any, county: str, cycle_year: int) -> tuple[Any, str]:
    """The run to wait for and what was done: started, rerun, done, waiting or cancelled."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterTags,
    )
    from prefect.deployments import run_deployment
    from zhucun.deployments.trigger import cycle_idempotency_key

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[f"county:{county}", f"cycle:{cycle_year}"])
            ),
        )
    attempts = {n: r for r in runs if (n := attempt_of(r.idempotency_key, county, cycle_year))}
    attempt, action = decide({n: _state(r) for n, r in attempts.items()})
    if attempt is None:
        return attempts[max(attempts)], action
    rerun = f"{ATTEMPT_PREFIX}{attempt}" if attempt > 1 else None
    run = run_deployment(
        CYCLE_DEPLOYMENT,
        parameters={"county": county, "cycle_year": cycle_year},
        flow_run_name=f"cycle-{county}-{cycle_year}",
        timeout=0,
        as_subflow=False,
        idempotency_key=cycle_idempotency_key(county, cycle_year, rerun=rerun),
        tags=[f"county:{county}", f"cycle:{cycle_year}", f"province:{county[:2]}"],
    )
    return run, action


def wait_for_runs(runs: dict[str, Any], timeout: float, poll_seconds: float) -> dict[str, Any]:
    """Poll the API until every run is final or `timeout` seconds passed; the last read of
    each run (counts of what is still going in the log when it changes)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    logger = get_run_logger()
    latest = dict(runs)
    by_id = {str(r.id): c for c, r in runs.items()}
    deadline = time.monotonic() + max(timeout, 0)
    poll = max(poll_seconds, 0.5)
    reported = -1
    with get_client(sync_client=True) as client:
        while True:
            open_ids = [r.id for r in latest.values() if _state(r) not in FINAL_STATES]
            for i in range(0, len(open_ids), READ_BATCH):
                batch = open_ids[i : i + READ_BATCH]
                for r in client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=batch)),
                    limit=len(batch),
                ):
                    latest[by_id[str(r.id)]] = r
            going = sum(1 for r in latest.values() if _state(r) not in FINAL_STATES)
            if going != reported:
                logger.info("%d of %d county runs final", len(latest) - going, len(latest))
                reported = going
            left = deadline - time.monotonic()
            if not going or left <= 0:
                return latest
            time.sleep(min(poll, left))


def _state(run: Any) -> str:
    return run.state_type.value if run.state_type else "SCHEDULED"


def _minutes(run: Any) -> float | None:
    if run.start_time and run.end_time:
        return round((run.end_time - run.start_time).total_seconds() / 60, 2)
    return None


def result_rows(
    codes: list[str], started: dict[str, tuple[Any, str]], final: dict[str, Any], cycle_year: int
) -> list[dict[str, Any]]:
    """One row per county: code, name (a place), run, attempt, what was done, state, minutes."""
    from sqlalchemy import select
    from zhucun.models import County

    from zhucun.db import session_scope

    with session_scope() as session:
        names = dict(
            session.execute(
                select(County.county_code, County.name).where(County.county_code.in_(codes))
            ).all()
        )
    rows = []
    for c in codes:
        run = final[c]
        rows.append(
            {
                "county": c,
                "county_name": names.get(c, ""),
                "run": run.name,
                "attempt": attempt_of(run.idempotency_key, c, cycle_year) or 1,
                "action": started[c][1],
                "state": _state(run),
                "minutes": _minutes(run),
            }
        )
    return rows


def publish_table(rows: list[dict[str, Any]], label: str, cycle_year: int) -> None:
    """The province's table artifact (`province-<code>-<year>`): its history per province."""
    from prefect.artifacts import create_table_artifact

    done = sum(1 for r in rows if r["state"] == "COMPLETED")
    create_table_artifact(
        table=rows,
        key=artifact_key("province", label, cycle_year),
        description=f"省 {label} {cycle_year} 年度帮扶周期：{done}/{len(rows)} 个县完成"
        "（每县一个 assistance-cycle 运行；仅代码与计数）",
    )
