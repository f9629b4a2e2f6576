"""The review's *suspend* path on a real stack (`zhucun up`: Prefect server + serve process).

A `review-cycle` run started from its deployment suspends at the first form: its process
exits and nothing holds the run while it waits. `zhucun down && zhucun up` (server and runner
restarted on the same data directory) loses nothing: the run is still Suspended with the
same pause key and zhucun's database is unchanged. A resume through the Prefect API with a
valid form reschedules it: the runner picks it up, the flow re-runs from the top, applies
the form exactly once and suspends at the next stage. `zhucun review decide` then records
the next stage from the CLI and resumes the run, which re-reads the database and suspends
at the stage after that; two more CLI decisions take it to the end and the run completes.
No decision is ever recorded twice although every resume re-runs the flow from the top."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import Decision, Plan, Strategy

from tests.support.county import COUNTY
from tests.support.review_fixtures import ReviewSeed, seed_review
from tests.support.stack import (
    FINAL,
    REPO_ROOT,
    ZHUCUN,
    api,
    app_engine,
    local_stack,
    operator_env,
    zhucun,
)
from zhucun.cli.commands_stack import pid_alive

pytestmark = pytest.mark.slow

YEAR = 2026
REVIEW = "review-cycle/review-cycle"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("suspend") / "data"
    # The runner looks for runs to start every 10 s by default; a profile in the stack's
    # PREFECT_HOME (read by the serve process) makes it 1 s, so each resume costs ~1 s of
    # waiting instead of up to 10 s. The code path is the same.
    home = data_dir / "prefect"
    home.mkdir(parents=True)
    (home / "profiles.toml").write_text(
        'active = "zhucun-e2e"\n\n[profiles.zhucun-e2e]\nPREFECT_RUNNER_POLL_FREQUENCY = "1"\n',
        "utf-8",
    )
    with local_stack(data_dir) as state:
        with Session(app_engine(data_dir)) as s:
            state["seed"] = seed_review(s, villages=1, households_per_village=4, year=YEAR)
            s.commit()
        state["data_dir"] = data_dir
        yield state


# --- helpers -------------------------------------------------------------------------------


def _logs(stack: dict[str, Any], lines: int = 40) -> str:
    out = []
    for name in ("serve.log", "prefect-server.log"):
        path = stack["data_dir"] / "logs" / name
        if path.exists():
            tail = path.read_text("utf-8", errors="replace").splitlines()[-lines:]
            out.append(f"--- {name} (last {len(tail)} lines) ---\n" + "\n".join(tail))
    return "\n".join(out)


def _processes_running(run_id: str) -> list[int]:
    """PIDs of the processes on this machine that run the flow run (the runner starts each
    with PREFECT__FLOW_RUN_ID in its environment)."""
    needle = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if needle in env.split(b"\0"):
            pids.append(int(entry))
    return pids


class Watch:
    """Polls one flow run; remembers whether a process running it was ever seen (so that
    "no process holds it" is not vacuous)."""

    def __init__(self, stack: dict[str, Any], run_id: str) -> None:
        self.stack, self.run_id = stack, run_id
        self.process_seen = 0

    def run(self) -> dict[str, Any]:
        return api(self.stack["api_url"], f"/flow_runs/{self.run_id}")

    def until(self, what: str, ok: Callable[[dict[str, Any]], bool], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if _processes_running(self.run_id):
                self.process_seen += 1
            run = self.run()
            if ok(run):
                return run
            time.sleep(0.25)
        state = run.get("state") or {}
        pytest.fail(
            f"flow run {self.run_id} not {what} after {timeout:.0f}s: state "
            f"{state.get('type')}/{state.get('name')} {state.get('message')!r}\n"
            + _logs(self.stack)
        )

    def suspended(self, after: set[str], key: str, timeout: float = 60) -> dict[str, Any]:
        """Wait for a new Suspended state with pause key `key`, and for the run's process
        to have exited on its own."""

        def ok(run: dict[str, Any]) -> bool:
            st = run.get("state") or {}
            if st.get("type") in FINAL:
                pytest.fail(f"run ended instead of suspending: {st}\n" + _logs(self.stack))
            return (
                st.get("type") == "PAUSED"
                and st.get("name") == "Suspended"
                and st["id"] not in after
                and not _processes_running(self.run_id)
            )

        run = self.until(f"suspended at {key}", ok, timeout)
        details = run["state"]["state_details"]
        assert details["pause_key"] == key, (details, _logs(self.stack))
        assert details["pause_reschedule"] is True  # a suspension: resumed runs are rescheduled
        assert details["run_input_keyset"], details
        assert key in run["empirical_policy"]["pause_keys"]
        return run


def _resume(api_url: str, run_id: str, run_input: dict[str, Any]) -> None:
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        for attempt in range(20):
            try:
                resume_flow_run(UUID(run_id), run_input=run_input)
                return
            except RuntimeError as exc:  # "Run input schema not found" right after pausing
                if attempt == 19 or "schema" not in str(exc):
                    raise
                time.sleep(0.5)


def _database(data_dir: Path) -> dict[str, Any]:
    with Session(app_engine(data_dir)) as s:
        return {
            "strategies": sorted(
                s.execute(select(Strategy.household_id, Strategy.status, Strategy.version)).all()
            ),
            "plans": sorted(s.execute(select(Plan.village_code, Plan.status, Plan.version)).all()),
            "decisions": [
                (
                    d.stage,
                    d.subject,
                    d.subject_id,
                    d.reviewer_id,
                    d.channel,
                    d.outcome,
                    d.flow_run_id,
                )
                for d in s.scalars(select(Decision).order_by(Decision.decision_id))
            ],
        }


def _decide(stack: dict[str, Any], reviewer: str, stage: str, village: str) -> list[str]:
    """`zhucun review decide --all --decision approve` in an operator's shell with
    PREFECT_API_URL set; returns the runs it resumed."""
    out = subprocess.run(
        [*ZHUCUN, "review", "decide", "--year", str(YEAR), "--reviewer", reviewer,
         "--stage", stage, "--village", village, "--all", "--decision", "approve", "--json"],
        env=operator_env(
            stack["data_dir"], PREFECT_API_URL=stack["api_url"],
            PREFECT_HOME=stack["prefect_home"],
        ),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)["resumed_runs"]


def _task_runs(api_url: str, run_id: str) -> list[str]:
    runs = api(
        api_url,
        "/task_runs/filter",
        {"flow_runs": {"id": {"any_": [run_id]}}, "limit": 200},
    )
    return sorted(r["name"] for r in runs)


def _count(names: list[str], prefix: str) -> int:
    """Task runs whose name starts with `prefix` (untemplated names get a random suffix)."""
    return sum(n.startswith(prefix) for n in names)


def _restart(stack: dict[str, Any]) -> None:
    """`zhucun down && zhucun up` on the same data directory and port."""
    down = zhucun(stack["data_dir"], "down")
    assert down.returncode == 0 and "serve" in down.stdout, down.stdout + down.stderr
    up = zhucun(stack["data_dir"], "up", "--port", str(stack["port"]))
    assert up.returncode == 0, up.stdout + up.stderr + _logs(stack)
    state = json.loads((stack["data_dir"] / "stack" / "state.json").read_text("utf-8"))
    assert state["api_url"] == stack["api_url"]
    assert state["pids"]["serve"] != stack["pids"]["serve"]
    stack["pids"] = state["pids"]


# --- the test --------------------------------------------------------------------------------


def test_suspended_review_frees_the_runner_survives_a_restart_and_resumes(
    stack: dict[str, Any],
) -> None:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    seed: ReviewSeed = stack["seed"]
    data_dir: Path = stack["data_dir"]
    v0 = seed.info.poor_villages[0]
    n = len(seed.strategies[v0]) + 1  # items of the village: its strategies and its plan

    # 1. Triggered from the deployment as a top-level run (as the assistance cycle does).
    with temporary_settings(updates={PREFECT_API_URL: stack["api_url"]}):
        run = run_deployment(
            REVIEW,
            parameters={"county": COUNTY, "cycle_year": YEAR, "villages": [v0]},
            timeout=0,
            as_subflow=False,
            tags=[f"county:{COUNTY}", f"cycle:{YEAR}"],
        )
    run_id = str(run.id)
    watch = Watch(stack, run_id)
    seen: set[str] = set()

    # 2. It suspends at the team form; its process exits, the runner stays up.
    first = watch.suspended(seen, f"{v0}-team-0", timeout=90)
    seen.add(first["state"]["id"])
    assert pid_alive(stack["pids"]["serve"]), _logs(stack)  # the runner is up, holding nothing
    keyset = first["state"]["state_details"]["run_input_keyset"]
    before = _database(data_dir)
    assert before["decisions"] == []
    assert {st for _, st, _ in before["strategies"]} == {"draft"}

    # 3. Restart server and runner: nothing is lost.
    _restart(stack)
    time.sleep(2)  # the new runner polls (every 1 s here): it must leave the run alone
    after = watch.run()
    assert after["state"]["id"] == first["state"]["id"], after["state"]
    assert after["state"]["name"] == "Suspended"
    assert after["state"]["state_details"]["pause_key"] == f"{v0}-team-0"
    assert not _processes_running(run_id)
    assert _database(data_dir) == before
    form = api(stack["api_url"], f"/flow_runs/{run_id}/input/{keyset['description']}")
    assert "stage `team`" in str(form) and seed.strategies[v0][0] in str(form)  # the form too

    # 4a. Resume through the Prefect API with a valid form: the first secretary approves all.
    leader = seed.teams[v0][0]
    _resume(stack["api_url"], run_id, {"reviewer_id": leader, "approve_all": True})
    second = watch.suspended(seen, f"{v0}-committee-{n}", timeout=60)
    seen.add(second["state"]["id"])
    db = _database(data_dir)
    team = [d for d in db["decisions"] if d[0] == "team"]
    assert db["decisions"] == team and len(team) == n  # applied once, nothing else
    assert {(d[3], d[4], d[5], d[6]) for d in team} == {(leader, "ui", "accepted", run_id)}
    assert len({d[2] for d in team}) == n  # every item once
    tasks = _task_runs(stack["api_url"], run_id)
    assert _count(tasks, "review-close-publicity") == 2, tasks  # re-ran from the top
    assert _count(tasks, f"review-submit-{v0}-team") == 1, tasks  # applied once

    # 4b. `zhucun review decide` records the committee stage and resumes the run, which
    # re-reads the database and suspends at the township stage.
    committee = seed.officials(v0)["party_secretary"]
    assert _decide(stack, committee, "committee", v0) == [run_id]
    seen.add(watch.suspended(seen, f"{v0[:9]}-township-{2 * n}", timeout=60)["state"]["id"])
    db = _database(data_dir)
    assert len(db["decisions"]) == 2 * n
    assert [d for d in db["decisions"] if d[0] == "team"] == team  # no duplicate on re-run
    cli = [d for d in db["decisions"] if d[0] == "committee"]
    assert {(d[3], d[4], d[5]) for d in cli} == {(committee, "cli", "accepted")}
    assert {st for _, st, _ in db["strategies"]} == {"committee_signed"}
    assert {st for _, st, _ in db["plans"]} == {"committee_signed"}
    tasks = _task_runs(stack["api_url"], run_id)
    assert _count(tasks, "review-close-publicity") == 3, tasks
    assert _count(tasks, f"review-submit-{v0}-committee") == 0, tasks

    # 5. The township approves (strategies done, the plan goes up to the county), then the
    # county: the last resume finds nothing waiting and the run completes.
    assert _decide(stack, "T0", "township", v0) == [run_id]
    watch.suspended(seen, f"{v0[:6]}-county-{3 * n}", timeout=60)
    assert _decide(stack, "X0", "county", v0) == [run_id]
    done = watch.until("completed", lambda r: r["state"]["type"] in FINAL, timeout=60)
    assert done["state"]["type"] == "COMPLETED", (done["state"], _logs(stack))
    db = _database(data_dir)
    assert len(db["decisions"]) == 3 * n + 1
    assert len({(d[0], d[2]) for d in db["decisions"]}) == 3 * n + 1  # each decision once
    assert {d[5] for d in db["decisions"]} == {"accepted"}
    assert {st for _, st, _ in db["strategies"]} == {"approved"}
    assert {st for _, st, _ in db["plans"]} == {"approved"}
    arts = api(stack["api_url"], "/artifacts/filter",
               {"artifacts": {"flow_run_id": {"any_": [run_id]}}})  # fmt: skip
    assert any("Nothing waits for review." in str(a["data"]) for a in arts), arts
    assert watch.process_seen, "no process running the flow run was ever seen"
