"""End to end: a real Prefect server, the review flow in its own process, the paused run's
form filled and submitted in headless Chromium, the result checked in the database."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from models import Decision, Strategy
from tests.support.browser import LAUNCH_ARGS, ensure_browser, screenshot_path
from tests.support.prefect_server import real_prefect_server
from tests.support.review_fixtures import seed_review
from zhucun.stack import prefect_env, stop_process_group

REPO = Path(__file__).resolve().parents[1]
RUN = "review-130624-2026"


def _paused(api: str, timeout: float = 120, not_state: str | None = None) -> tuple[str, str]:
    """(run id, state id) once the run is paused with its form saved."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = httpx.post(
            f"{api}/flow_runs/filter", json={"flow_runs": {"name": {"any_": [RUN]}}}
        ).json()
        for r in runs:
            st = r.get("state") or {}
            keyset = (st.get("state_details") or {}).get("run_input_keyset")
            if st.get("type") == "PAUSED" and keyset and st.get("id") != not_state:
                got = httpx.get(f"{api}/flow_runs/{r['id']}/input/{keyset['schema']}")
                if got.status_code == 200:
                    return r["id"], st["id"]
        time.sleep(1)
    raise TimeoutError(f"{RUN} did not pause")


@pytest.mark.browser
def test_review_form_in_the_prefect_ui(session: Session, data_dir: Path, tmp_path: Path) -> None:
    chromium = ensure_browser()
    from playwright.sync_api import sync_playwright

    seed = seed_review(session, villages=1, households_per_village=4)
    session.commit()
    v0 = seed.info.poor_villages[0]
    leader = seed.teams[v0][0]
    with real_prefect_server(tmp_path / "prefect-server") as api:
        env = prefect_env(
            tmp_path / "prefect-client", api, ZHUCUN_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO)
        )
        code = (
            "from flows.review import review_cycle; "
            f"review_cycle('130624', 2026, ['{v0}'], poll_seconds=2)"
        )
        log = (tmp_path / "flow.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            run_id, state_id = _paused(api)
            port = api.split(":")[2].split("/")[0]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1100})
                page.goto(f"http://127.0.0.1:{port}/runs/flow-run/{run_id}")
                page.get_by_role("button", name="Resume").first.click(timeout=60_000)
                dialog = page.get_by_role("dialog")
                dialog.get_by_text("stage").first.wait_for(timeout=30_000)
                assert "户主" in dialog.inner_text() and v0 in dialog.inner_text()
                dialog.locator("textarea, input[type=text]").first.fill(leader)
                dialog.get_by_role("switch").first.click()
                page.screenshot(path=str(screenshot_path("review-form.png")))
                dialog.get_by_role("button", name="Submit").click()
                # the run takes the input, records it and pauses at the committee stage
                _paused(api, not_state=state_id)
                browser.close()
        finally:
            stop_process_group(proc.pid)
            log.close()
    session.expire_all()
    rows = list(session.scalars(select(Decision)))
    assert rows and {(r.channel, r.outcome, r.reviewer_id) for r in rows} == {
        ("ui", "accepted", leader)
    }
    assert {r.flow_run_id for r in rows} == {run_id}
    assert set(session.scalars(select(Strategy.status).where(Strategy.village_code == v0))) == {
        "team_signed"
    }
