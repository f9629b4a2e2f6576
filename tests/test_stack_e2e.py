"""End to end, as an operator: `zhucun up` (real Prefect server, deployments, serve process),
trigger the dispatch cycle with `prefect deployment run`, check zhucun's database and the
run's artifacts through the Prefect API; schedules produce scheduled runs (the scheduler
runs only in a real server); a double click on the cycle gives one run; `zhucun down`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import Team

from tests.support.county import COUNTY, seed_county
from tests.support.stack import (
    api,
    app_engine,
    local_stack,
    prefect_cli,
    wait_for_runs,
    zhucun,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("stack") / "data"
    with local_stack(data_dir, county=COUNTY) as state:
        with Session(app_engine(data_dir)) as s:
            state["seed"] = seed_county(s)
            s.commit()
        state["data_dir"] = data_dir
        yield state


def _deployment(stack: dict[str, Any], name: str) -> dict[str, Any]:
    return api(stack["api_url"], f"/deployments/name/{name}/{name}")


def test_zhucun_up_twice_refuses_politely_and_status_shows_the_ui(stack: dict[str, Any]) -> None:
    again = zhucun(stack["data_dir"], "up", "--port", str(stack["port"]))
    assert again.returncode == 0 and "already up" in again.stdout
    status = zhucun(stack["data_dir"], "status", "--json")
    assert status.returncode == 0, status.stderr
    assert '"up": true' in status.stdout and stack["ui_url"] in status.stdout


def test_monthly_and_yearly_schedules_produce_scheduled_runs_in_shanghai_time(
    stack: dict[str, Any],
) -> None:
    """02:00 on the 1st in Asia/Shanghai is 18:00 UTC the day before; 09:00 on 5 January is
    01:00 UTC. The default parameters carry the county given to `zhucun up`."""
    for name, check in (
        ("monthly-progress-evaluation", lambda t: t.hour == 18 and (t.day in (28, 29, 30, 31))),
        ("yearly-team-term-review", lambda t: (t.month, t.day, t.hour) == (1, 5, 1)),
    ):
        dep = _deployment(stack, name)
        assert dep["parameters"] == {"county": COUNTY}
        assert f"county:{COUNTY}" in dep["tags"]
        runs = wait_for_runs(
            stack["api_url"], {"deployment_id": {"any_": [dep["id"]]}}, timeout=90, final=False
        )
        assert {r["state_type"] for r in runs} == {"SCHEDULED"}
        times = [datetime.fromisoformat(r["expected_start_time"]) for r in runs]
        assert all(check(t) for t in times), times


def test_dispatch_cycle_triggered_from_the_prefect_cli(stack: dict[str, Any]) -> None:
    """`-p county=130624` arrives as an int (JSON): the run must still succeed."""
    out = prefect_cli(
        stack, "deployment", "run", "dispatch-cycle/dispatch-cycle",
        "-p", f"county={COUNTY}", "-p", "cycle_year=2026",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", out.stdout)
    assert run_id, out.stdout
    runs = wait_for_runs(stack["api_url"], {"id": {"any_": [run_id.group(1)]}}, timeout=240)
    run = runs[0]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"] == f"dispatch-{COUNTY}-2026"
    assert f"county:{COUNTY}" in run["tags"]
    with Session(app_engine(stack["data_dir"])) as s:
        teams = s.scalar(select(func.count()).select_from(Team))
    assert teams == len(stack["seed"].poor_villages)
    arts = api(stack["api_url"], "/artifacts/filter",
               {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})  # fmt: skip
    keys = {a["key"] for a in arts if a["key"]}
    assert any(k.startswith(f"dispatch-{COUNTY}-2026") for k in keys), keys
    assert all(not re.search(r"\d{17}[\dXx]", str(a["data"])) for a in arts)


def test_a_double_click_on_the_cycle_starts_one_run(stack: dict[str, Any]) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from zhucun.deployments.trigger import run_cycle_via_deployment

    with temporary_settings(updates={PREFECT_API_URL: stack["api_url"]}):
        first = run_cycle_via_deployment(COUNTY, 2027, wait=False)
        second = run_cycle_via_deployment(COUNTY, 2027, wait=False)
    assert first == second
    dep = _deployment(stack, "assistance-cycle")
    runs = api(stack["api_url"], "/flow_runs/filter",
               {"flow_runs": {"deployment_id": {"any_": [dep["id"]]}}})  # fmt: skip
    assert [r["id"] for r in runs] == [first]
    assert f"county:{COUNTY}" in runs[0]["tags"]


def test_zhucun_down_stops_every_process(stack: dict[str, Any]) -> None:
    from zhucun.cli.commands_stack import pid_alive

    pids = dict(stack["pids"])
    out = zhucun(stack["data_dir"], "down")
    assert out.returncode == 0 and "server" in out.stdout
    assert not any(pid_alive(p) for p in pids.values())
    assert "down" in zhucun(stack["data_dir"], "status").stdout
