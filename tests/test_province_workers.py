"""A province across machines, on one machine: a real Prefect server on PostgreSQL, zhucun on
PostgreSQL, the `zhucun` process pool with the deployments `prefect deploy` makes from
deployments/prefect.yaml, two county workers (`--limit 1` each, like two machines) and a
coordinator worker for the province run. `province-cycle` for Guizhou (52) fans four small
counties out; every county completes once, on the two workers; a second province run starts
no county run; a failed county is re-run once under the next attempt's key.

One cluster for the module (it takes most of the time); the checks read what it left."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import func, select
from zhucun.flows.province import ParameterProblem, attempt_of, decide, resolve_counties
from zhucun.models import Strategy, Village

from tests.support.cluster import (
    api,
    database_url,
    fresh_database,
    local_cluster,
    postgres_reachable,
    prepare_counties,
)
from zhucun.db import engine_for
from zhucun.settings import reset_settings

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Guizhou's (52) poverty counties with the fewest villages (玉屏 麻江 长顺 龙里): a cycle's
# work grows with the villages, whatever the number of households.
COUNTIES = ["520622", "522635", "522729", "522730"]
NAMES = {"玉屏侗族自治县", "麻江县", "长顺县", "龙里县"}
HOUSEHOLDS = 60  # per county: small, the fan-out is what is tested
YEAR = 2026
RERUN_YEAR = 2027  # a cycle whose first attempt is made to have failed


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    why = postgres_reachable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable: {why}")
        pytest.skip(f"no PostgreSQL server: {why}")
    root = tmp_path_factory.mktemp("province")
    with ExitStack() as stack:
        zhucun_url = database_url(stack.enter_context(fresh_database("zhucun_app")))
        errors: list[BaseException] = []

        def prepare() -> None:  # meanwhile the server starts and migrates its database
            try:
                prepare_counties(zhucun_url, root, COUNTIES, HOUSEHOLDS)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the fixture
                errors.append(exc)

        prep = threading.Thread(target=prepare)
        prep.start()
        try:
            cluster = stack.enter_context(
                local_cluster(root / "cluster", county_workers=2, zhucun_url=zhucun_url)
            )
        finally:
            prep.join()
        if errors:
            raise errors[0]
        first = cluster.run_province(province="52", cycle_year=YEAR, poll_seconds=1)
        after_first = cycle_runs(cluster, YEAR)
        # All at once on the coordinator: the province again; an unknown province; two
        # province runs racing to re-run a county whose first attempt failed (of another
        # cycle, so the province's counts stay its own). The county queue is paused: the
        # re-run's creation is what is checked (running it is any county run), and the
        # racing runs' short wait ends with the county still to do.
        failed = fail_first_attempt(cluster, COUNTIES[0], RERUN_YEAR)
        cluster.pause_queue("default")
        rerun = {"counties": [COUNTIES[0]], "cycle_year": RERUN_YEAR, "timeout_minutes": 0.01}
        second, bad, *reruns = cluster.run_provinces(
            {"province": "52", "cycle_year": YEAR},
            {"province": "11", "cycle_year": YEAR},
            rerun,
            dict(rerun),
        )
        yield {
            "cluster": cluster,
            "workers": ["county-worker-1", "county-worker-2"],
            "zhucun_url": zhucun_url,
            "first": first,
            "bad": bad,
            "second": second,
            "after_first": after_first,
            "after_second": cycle_runs(cluster, YEAR),
            "failed": failed,
            "reruns": reruns,
            "rerun_runs": cycle_runs(cluster, RERUN_YEAR),
        }


def cycle_runs(cluster: Any, year: int) -> list[dict[str, Any]]:
    return [r for r in cluster.flow_runs("assistance-cycle") if f"cycle:{year}" in r["tags"]]


def fail_first_attempt(cluster: Any, county: str, year: int) -> dict[str, Any]:
    """The county's first attempt as a crash leaves it: created with the cycle's key (as a
    province run would), Failed before any worker took it."""
    dep = api(cluster.api_url, "/deployments/name/assistance-cycle/assistance-cycle")
    return api(
        cluster.api_url,
        f"/deployments/{dep['id']}/create_flow_run",
        {
            "name": f"cycle-{county}-{year}",
            "parameters": {"county": county, "cycle_year": year},
            "idempotency_key": f"zhucun:assistance-cycle:{county}:{year}",
            "tags": [f"county:{county}", f"cycle:{year}"],
            "state": {"type": "FAILED", "message": "failed (made so by the test)"},
        },
    )


def _logs(api_url: str, run_id: str, until: str | None = None) -> list[str]:
    """A run's log lines; with `until`, wait (up to 20 s) for that line: a run's last lines
    reach the API in a batch after its final state."""
    deadline = time.monotonic() + 20
    while True:
        logs = api(
            api_url,
            "/logs/filter",
            {"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC"},
        )
        messages = [entry["message"] for entry in logs]
        if until is None or until in messages or time.monotonic() > deadline:
            return messages
        time.sleep(0.5)


def _submitted_by(api_url: str, run_id: str) -> str:
    """The worker that started a run, from the line every worker logs to the run."""
    for message in _logs(api_url, run_id):
        if m := re.match(r"Worker '([^']+)' submitting flow run", message):
            return m.group(1)
    return "?"


def test_every_county_completes_once_on_the_two_workers(province: dict[str, Any]) -> None:
    api_url = province["cluster"].api_url
    assert province["first"]["state_type"] == "COMPLETED", province["first"]["state"]
    assert province["first"]["name"] == f"province-52-{YEAR}"
    runs = province["after_first"]
    assert sorted(r["parameters"]["county"] for r in runs) == COUNTIES  # one run per county
    for r in runs:
        county = r["parameters"]["county"]
        assert r["state_type"] == "COMPLETED", (county, r["state"])
        assert r["name"] == f"cycle-{county}-{YEAR}"
        assert r["idempotency_key"] == f"zhucun:assistance-cycle:{county}:{YEAR}"
        assert {f"county:{county}", f"cycle:{YEAR}", "province:52"} <= set(r["tags"])
        assert r["work_pool_name"] == "zhucun" and r["work_queue_name"] == "default"
    by_worker = {r["parameters"]["county"]: _submitted_by(api_url, r["id"]) for r in runs}
    assert set(by_worker.values()) == set(province["workers"]), by_worker
    assert _submitted_by(api_url, province["first"]["id"]) == "coordinator"


def test_zhucun_database_has_strategies_for_every_county(province: dict[str, Any]) -> None:
    with engine_for(province["zhucun_url"]).connect() as conn:
        counts = dict(
            conn.execute(
                select(Village.county_code, func.count(Strategy.id))
                .join(Village, Village.village_code == Strategy.village_code)
                .where(Strategy.cycle_year == YEAR)
                .group_by(Village.county_code)
            ).all()
        )
    assert sorted(counts) == COUNTIES and min(counts.values()) > 0, counts


def test_a_second_province_run_starts_no_county_run(province: dict[str, Any]) -> None:
    assert province["second"]["state_type"] == "COMPLETED", province["second"]["state"]
    first = {r["id"] for r in province["after_first"]}
    assert {r["id"] for r in province["after_second"]} == first
    rows = _table(province, province["second"]["id"])
    assert [(r["county"], r["action"], r["state"]) for r in rows] == [
        (c, "done", "COMPLETED") for c in COUNTIES
    ]


def _table(
    province: dict[str, Any], run_id: str, key: str = f"province-52-{YEAR}"
) -> list[dict[str, Any]]:
    import json

    arts = api(
        province["cluster"].api_url,
        "/artifacts/filter",
        {"artifacts": {"flow_run_id": {"any_": [run_id]}, "type": {"any_": ["table"]}}},
    )
    assert len(arts) == 1 and arts[0]["key"] == key, arts
    return json.loads(arts[0]["data"])


def test_the_table_holds_codes_county_names_runs_and_minutes(province: dict[str, Any]) -> None:
    rows = _table(province, province["first"]["id"])
    assert [r["county"] for r in rows] == COUNTIES
    assert {r["county_name"] for r in rows} == NAMES
    assert all(r["action"] == "started" and r["attempt"] == 1 for r in rows)
    assert all(r["minutes"] > 0 for r in rows)
    assert set(rows[0]) == {"county", "county_name", "run", "attempt", "action", "state", "minutes"}


def test_an_unknown_province_fails_in_one_line(province: dict[str, Any]) -> None:
    """The flow's own error is one line; the only traceback is the one Prefect's engine
    logs for every failed deployment run, and none of it is this flow's code."""
    bad = province["bad"]
    assert bad["state_type"] == "FAILED"
    assert bad["state"]["message"].startswith("province '11' has none of the 832")
    assert "\n" not in bad["state"]["message"]
    logs = _logs(province["cluster"].api_url, bad["id"], until=bad["state"]["message"])
    assert bad["state"]["message"] in logs, logs
    tracebacks = [m for m in logs if "Traceback" in m]
    assert all(m.startswith("Engine execution exited") for m in tracebacks), tracebacks
    assert not any("province.py" in m for m in logs), logs


def test_unknown_counties_are_named_in_one_line(
    province: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHUCUN_DATABASE_URL", province["zhucun_url"])
    reset_settings()
    try:
        assert resolve_counties("52", None) == COUNTIES
        # an int from `-p counties='[522730]'` is a code too; order kept, repeats dropped
        picked = [COUNTIES[3], int(COUNTIES[1]), COUNTIES[3]]
        assert resolve_counties(None, picked) == [COUNTIES[3], COUNTIES[1]]
        for province_code, counties, message in (
            (None, ["522623", "522624"], "without registered households in zhucun's database: "
             "522623"),
            ("52", ["130624"], "counties not in province 52: 130624"),
            ("53", None, "no county of province 53 has registered households"),
            (None, ["52262"], "county codes must be 6 digits: 52262"),
            (None, None, "give a province"),
        ):  # fmt: skip
            with pytest.raises(ParameterProblem, match=re.escape(message)):
                resolve_counties(province_code, counties)
    finally:
        reset_settings()


def test_a_failed_county_is_rerun_once_under_the_next_attempt_key(
    province: dict[str, Any],
) -> None:
    """Two province runs at once find the county's first attempt Failed: between them they
    start one re-run (attempt 2, one idempotency key); their bounded wait ends with it
    still scheduled (the queue is paused), and they fail saying so, in one line."""
    county = COUNTIES[0]
    assert {r["name"] for r in province["reruns"]} == {f"province-52-{RERUN_YEAR}"}
    for run in province["reruns"]:
        assert run["state_type"] == "FAILED"
        assert run["state"]["message"].startswith(f"1 of 1 counties not completed ({county})")
    runs = province["rerun_runs"]
    assert [(r["idempotency_key"], r["state_type"]) for r in runs] == [
        (f"zhucun:assistance-cycle:{county}:{RERUN_YEAR}", "FAILED"),
        (f"zhucun:assistance-cycle:{county}:{RERUN_YEAR}:rerun:attempt-2", "SCHEDULED"),
    ]
    assert runs[0]["id"] == province["failed"]["id"]
    # the one that came second found attempt 2 already there, or got it back by its key
    tables = [_table(province, r["id"], f"province-52-{RERUN_YEAR}") for r in province["reruns"]]
    assert all([(r["county"], r["attempt"], r["state"]) for r in t] == [(county, 2, "SCHEDULED")]
               for t in tables), tables  # fmt: skip
    actions = sorted(t[0]["action"] for t in tables)
    assert actions in (["rerun", "rerun"], ["rerun", "waiting"]), actions


def test_attempts_decide_what_a_province_run_starts() -> None:
    assert decide({}) == (1, "started")
    assert decide({1: "COMPLETED"}) == (None, "done")
    assert decide({1: "RUNNING"}) == (None, "waiting")
    assert decide({1: "SCHEDULED"}) == (None, "waiting")
    assert decide({1: "FAILED"}) == (2, "rerun")
    assert decide({1: "FAILED", 2: "CRASHED"}) == (3, "rerun")
    assert decide({1: "FAILED", 2: "COMPLETED"}) == (None, "done")
    assert decide({1: "CANCELLED"}) == (None, "cancelled")
    key = "zhucun:assistance-cycle:522626:2026"
    assert attempt_of(key, "522626", 2026) == 1
    assert attempt_of(f"{key}:rerun:attempt-3", "522626", 2026) == 3
    assert attempt_of(f"{key}:decisions:0123456789ab", "522626", 2026) is None
    assert attempt_of(f"{key}:rerun:x", "522626", 2026) is None
    assert attempt_of(None, "522626", 2026) is None
