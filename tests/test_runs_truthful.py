"""Runs that tell the truth (issue 11.5): a run started from the UI carries the county and
cycle of its parameters (not the deployment's default county) and a readable name; every
deployment parameter is described; `zhucun status` speaks Shanghai time and names
deployments; CLI runs go to the local stack when it is up. One stack for the module."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session
from zhucun.deployments.definitions import DEPLOYMENTS

from tests.support.county import COUNTY, seed_county
from tests.support.stack import api, app_engine, local_stack, wait_for_runs, zhucun

DEFAULT_COUNTY = "522626"  # the stack's scheduled county; the run below is for 130624
# Flows in files other engineers are rewriting: their docstrings need an "Args:" section.
DESCRIBED_ELSEWHERE: set[str] = set()


@pytest.mark.parametrize("d", DEPLOYMENTS, ids=lambda d: d.name)
def test_every_deployment_parameter_has_a_description(d: Any) -> None:
    """Prefect 3.9 takes a parameter's description from the docstring's "Args:" section (or
    a `Field(...)` default); an `Annotated[..., Field(description=...)]` type is dropped."""
    from prefect.utilities.callables import parameter_schema

    if d.name in DESCRIBED_ELSEWHERE:
        pytest.xfail(f"{d.entrypoint}: owned by another engineer, Args: section pending")
    module, func = d.entrypoint.split(":")
    flow = getattr(importlib.import_module("zhucun." + module[:-3].replace("/", ".")), func)
    props = parameter_schema(flow).model_dump()["properties"]
    assert {k for k, v in props.items() if not v.get("description")} == set()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("truthful") / "data"
    with local_stack(data_dir, county=DEFAULT_COUNTY) as state:
        with Session(app_engine(data_dir)) as s:
            seed_county(s, households_per_village=3)
            s.commit()
        state["data_dir"] = data_dir
        yield state


@pytest.mark.slow
def test_a_run_started_like_the_ui_carries_its_own_county_cycle_and_name(
    stack: dict[str, Any],
) -> None:
    dep = api(stack["api_url"], "/deployments/name/review-cycle/review-cycle")
    assert f"county:{DEFAULT_COUNTY}" in dep["tags"]
    run = api(  # what the UI's "Custom run" posts
        stack["api_url"],
        f"/deployments/{dep['id']}/create_flow_run",
        {"parameters": {"county": COUNTY, "cycle_year": 2026, "wait": False}},
    )
    assert f"county:{DEFAULT_COUNTY}" in run["tags"]  # inherited: what tag_run must fix
    done = wait_for_runs(stack["api_url"], {"id": {"any_": [run["id"]]}}, timeout=240)[0]
    assert done["state_type"] == "COMPLETED", done["state"]
    assert done["name"] == f"review-{COUNTY}-2026"
    assert f"county:{COUNTY}" in done["tags"] and "cycle:2026" in done["tags"]
    assert f"county:{DEFAULT_COUNTY}" not in done["tags"]


@pytest.mark.slow
def test_status_names_deployments_in_shanghai_time_and_json_only_on_request(
    stack: dict[str, Any],
) -> None:
    wait_for_runs(stack["api_url"], {"state": {"type": {"any_": ["SCHEDULED"]}}}, final=False)
    text = zhucun(stack["data_dir"], "status")
    assert text.returncode == 0, text.stderr
    assert "北京时间" in text.stdout and "{" not in text.stdout
    # the next runs are named for their deployment and county, never brave-otter (daily
    # checks come first; which one is first depends on the day)
    assert re.search(rf"\b[a-z]+(-[a-z]+)+-{DEFAULT_COUNTY}\b", text.stdout), text.stdout
    info = json.loads(zhucun(stack["data_dir"], "status", "--json").stdout)
    nxt = info["next_scheduled"][0]
    assert nxt["deployment"] and nxt["expected_start_local"].endswith("(北京时间)")


@pytest.mark.slow
def test_cli_runs_use_the_local_stack_when_it_is_up(stack: dict[str, Any]) -> None:
    res = zhucun(stack["data_dir"], "check", "--county", COUNTY)
    assert f"runs go to the local stack at {stack['api_url']}" in res.stderr, res.stderr
    runs = wait_for_runs(
        stack["api_url"], {"name": {"any_": [f"data-quality-{COUNTY}"]}}, timeout=120
    )
    assert runs  # the run is on the stack, not on a temporary server
    quiet = zhucun(stack["data_dir"], "check", "--county", COUNTY, "--json")
    assert "local stack" not in quiet.stderr and json.loads(quiet.stdout)


def test_cli_says_when_no_stack_is_up(data_dir: Any) -> None:
    res = zhucun(data_dir, "evaluate", "--county", COUNTY, "--period", "2026-01")
    assert "no local stack is up" in res.stderr and "temporary server" in res.stderr
