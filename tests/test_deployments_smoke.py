"""Every flow imports; every deployment entrypoint resolves and its parameter schema builds
(so the UI can render its form); prefect.yaml is what definitions.py renders; schedules run
in Asia/Shanghai; a double click on "run the cycle" maps to one idempotency key."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from zhucun.deployments.definitions import (
    DEPLOYMENTS,
    PREFECT_YAML,
    REPO_ROOT,
    prefect_yaml_data,
    render_prefect_yaml,
)
from zhucun.deployments.trigger import cycle_idempotency_key, cycle_parameters

from tests.support.stack import zhucun

FLOW_MODULES = sorted(
    p.stem for p in (REPO_ROOT / "flows").glob("*.py") if p.stem not in {"__init__"}
)


@pytest.mark.parametrize("module", FLOW_MODULES)
def test_every_flow_module_imports_without_touching_the_database(module: str) -> None:
    """A worker imports flow modules to load them: no engine, settings or DB at import."""
    importlib.import_module(f"zhucun.flows.{module}")


@pytest.mark.parametrize("d", DEPLOYMENTS, ids=lambda d: d.name)
def test_deployment_entrypoint_resolves_and_its_form_builds(d) -> None:  # noqa: ANN001
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    path, func = d.entrypoint.split(":")
    assert (REPO_ROOT / path).exists(), f"{d.entrypoint}: flow module not written yet"
    flow = load_flow_from_entrypoint(f"{REPO_ROOT / path}:{func}")
    assert flow.name == d.name, "deployment is addressed as <flow>/<deployment>: keep them equal"
    schema = parameter_schema(flow).model_dump_for_openapi()
    props = schema["properties"]
    for key in d.default_parameters("522626"):
        assert key in props, f"default parameter {key} is not a parameter of {d.entrypoint}"
    for key in ("county", "village_code"):  # a text field (codes keep leading zeros)
        if key in props:
            shapes = [props[key], *props[key].get("anyOf", [])]
            assert any(s.get("type") == "string" for s in shapes), props[key]
    if "cycle_year" in props:
        year = [props["cycle_year"], *props["cycle_year"].get("anyOf", [])]
        assert any(s.get("type") == "integer" for s in year), props["cycle_year"]
    if "period" in props:
        shapes = [props["period"], *props["period"].get("anyOf", [])]
        assert any(s.get("type") == "string" for s in shapes), props["period"]


@pytest.mark.parametrize("d", DEPLOYMENTS, ids=lambda d: d.name)
def test_deployment_takes_a_county_code_from_the_prefect_cli_as_an_int(d) -> None:  # noqa: ANN001
    """`prefect deployment run ... -p county=522626` sends 522626 (JSON): the flow must take
    it as the string '522626' (DESIGN §4)."""
    from zhucun.deployments.serve import load_flow

    flow = load_flow(d)
    params = {"county": 522626, "cycle_year": 2026, "period": "2026-10", "year": 2026,
              "village_code": 522626101001}  # fmt: skip
    accepted = {k: v for k, v in params.items() if k in flow.parameters.properties}
    checked = flow.validate_parameters(accepted)
    for key in ("county", "village_code"):
        if key in checked:
            assert checked[key] == str(params[key])


def test_prefect_yaml_is_generated_from_the_definitions() -> None:
    assert PREFECT_YAML.read_text("utf-8") == render_prefect_yaml(None), (
        "deployments/prefect.yaml is stale: run `zhucun deploy yaml`"
    )
    data = yaml.safe_load(PREFECT_YAML.read_text("utf-8"))
    assert [d["name"] for d in data["deployments"]] == [d.name for d in DEPLOYMENTS]
    assert {d["work_pool"]["name"] for d in data["deployments"]} == {"zhucun"}


def test_schedules_run_in_shanghai_and_wait_for_a_county() -> None:
    """Monthly evaluation (1st, 02:00), daily overdue checks (reviews 08:00, monitoring
    clocks 08:30), yearly term review (5 Jan): all Asia/Shanghai. Without a county only
    the county-free checks are active."""
    data = prefect_yaml_data(None)
    sched = {d["name"]: d["schedules"] for d in data["deployments"] if d["schedules"]}
    assert {n: s[0]["cron"] for n, s in sched.items()} == {
        "check-overdue-reviews": "0 8 * * *",
        "check-monitoring-clocks": "30 8 * * *",
        "procedures-daily": "0 9 * * *",
        "monthly-progress-evaluation": "0 2 1 * *",
        "yearly-team-term-review": "0 9 5 1 *",
    }
    assert {s[0]["timezone"] for s in sched.values()} == {"Asia/Shanghai"}
    assert {n: s[0]["active"] for n, s in sched.items()} == {
        "check-overdue-reviews": True,
        "check-monitoring-clocks": True,
        "procedures-daily": False,
        "monthly-progress-evaluation": False,
        "yearly-team-term-review": False,
    }
    with_county = {d["name"]: d for d in prefect_yaml_data("522626")["deployments"]}
    monthly = with_county["monthly-progress-evaluation"]
    assert monthly["schedules"][0]["active"] and monthly["parameters"] == {"county": "522626"}
    assert "county:522626" in monthly["tags"]


def test_zhucun_deploy_yaml_prints_the_committed_file(tmp_path: Path) -> None:
    out = zhucun(tmp_path / "data", "deploy", "yaml", "--out", "-", timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == PREFECT_YAML.read_text("utf-8")


def test_a_double_click_maps_to_one_cycle_run_key(tmp_path: Path) -> None:
    """Same county and year → same key (Prefect returns the existing run); another year,
    another decisions file content, or an explicit re-run → another key."""
    key = cycle_idempotency_key("522626", 2026)
    assert key == cycle_idempotency_key("522626", 2026) == "zhucun:assistance-cycle:522626:2026"
    assert key != cycle_idempotency_key("522626", 2027)
    f = tmp_path / "decisions.csv"
    f.write_text("a\n", "utf-8")
    k1 = cycle_idempotency_key("522626", 2026, str(f))
    assert k1 == cycle_idempotency_key("522626", 2026, str(f)) != key
    f.write_text("b\n", "utf-8")
    assert cycle_idempotency_key("522626", 2026, str(f)) != k1
    assert cycle_idempotency_key("522626", 2026, rerun="2") != key
    assert cycle_parameters("522626", 2026, str(f))["decisions_file"] == str(f.resolve())
