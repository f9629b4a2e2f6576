"""End to end: a real Prefect server, the review flow in its own process, the paused run's
form filled and submitted in headless Chromium, the result checked in the database."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from zhucun.models import Decision, Strategy

from tests.support.browser import LAUNCH_ARGS, ensure_browser, screenshot_path
from tests.support.prefect_server import real_prefect_server
from tests.support.review_fixtures import seed_review
from zhucun.stack import prefect_env, stop_process_group

REPO = Path(__file__).resolve().parents[1]
RUN = "review-130624-2026"


def _runs(api: str) -> list[dict]:
    return httpx.post(
        f"{api}/flow_runs/filter", json={"flow_runs": {"name": {"any_": [RUN]}}}
    ).json()


def _paused(
    api: str, timeout: float = 120, not_state: str | None = None, old: set[str] = frozenset()
) -> tuple[str, str]:
    """(run id, state id) once the run is paused with its form saved (runs in `old`, left
    by an earlier test on the shared server, are ignored)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in _runs(api):
            if r["id"] in old:
                continue
            st = r.get("state") or {}
            keyset = (st.get("state_details") or {}).get("run_input_keyset")
            if st.get("type") == "PAUSED" and keyset and st.get("id") != not_state:
                got = httpx.get(f"{api}/flow_runs/{r['id']}/input/{keyset['schema']}")
                if got.status_code == 200:
                    return r["id"], st["id"]
        time.sleep(1)
    raise TimeoutError(f"{RUN} did not pause")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect server (UI included) for the module's browser tests."""
    with real_prefect_server(tmp_path_factory.mktemp("prefect-server")) as api:
        yield api


def _flow(api: str, data_dir: Path, tmp_path: Path, code: str) -> subprocess.Popen[bytes]:
    env = prefect_env(
        tmp_path / "prefect-client", api, ZHUCUN_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO)
    )
    log = (tmp_path / "flow.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.browser
def test_review_form_in_the_prefect_ui(
    session: Session, data_dir: Path, tmp_path: Path, server: str
) -> None:
    chromium = ensure_browser()
    from playwright.sync_api import sync_playwright

    seed = seed_review(session, villages=1, households_per_village=4)
    session.commit()
    v0 = seed.info.poor_villages[0]
    leader = seed.teams[v0][0]
    old = {r["id"] for r in _runs(server)}
    api = server
    code = (
        "from flows.review import review_cycle; "
        f"review_cycle('130624', 2026, ['{v0}'], poll_seconds=2)"
    )
    proc = _flow(api, data_dir, tmp_path, code)
    try:
        run_id, state_id = _paused(api, old=old)
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
            _paused(api, not_state=state_id, old=old)
            browser.close()
    finally:
        stop_process_group(proc.pid)
    session.expire_all()
    rows = list(session.scalars(select(Decision)))
    assert rows and {(r.channel, r.outcome, r.reviewer_id) for r in rows} == {
        ("ui", "accepted", leader)
    }
    assert {r.flow_run_id for r in rows} == {run_id}
    assert set(session.scalars(select(Strategy.status).where(Strategy.village_code == v0))) == {
        "team_signed"
    }


@pytest.mark.browser
def test_county_form_decides_every_village_in_one_submission(
    session: Session, data_dir: Path, tmp_path: Path, server: str
) -> None:
    """The county approver's one form: every village's plan, grouped by township village
    with names, who may decide in Chinese; approve all, submit, the ledger has each once."""
    chromium = ensure_browser()
    from playwright.sync_api import sync_playwright
    from zhucun.models import Plan

    from tests.test_review_county_form import VILLAGE2, seed_at_township

    seed = seed_at_township(session)
    session.execute(update(Strategy).values(status="approved"))
    session.execute(update(Plan).values(status="township_approved"))
    session.commit()
    villages = [*seed.info.poor_villages[:3], VILLAGE2]
    old = {r["id"] for r in _runs(server)}
    proc = _flow(
        server,
        data_dir,
        tmp_path,
        "from flows.review import review_cycle; review_cycle('130624', 2026, poll_seconds=2)",
    )
    try:
        run_id, _state = _paused(server, old=old)
        port = server.split(":")[2].split("/")[0]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/runs/flow-run/{run_id}")
            page.get_by_role("button", name="Resume").first.click(timeout=60_000)
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("审批0（县级审批人").first.wait_for(timeout=30_000)
            text = dialog.inner_text()
            assert "阜平县" in text and "城南村" in text and "第1村" in text
            assert "¥1,200,000" in text
            box = dialog.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1400
            dialog.locator("textarea, input[type=text]").first.fill("X0")
            dialog.get_by_role("switch").first.click()
            shot = screenshot_path("review-county-form.png")
            page.screenshot(path=str(shot))
            docs = REPO / "docs" / "screenshots"
            docs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, docs / "review-county-form.png")
            dialog.get_by_role("button", name="Submit").click()
            proc.wait(120)
            browser.close()
    finally:
        stop_process_group(proc.pid)
    session.expire_all()
    rows = list(session.scalars(select(Decision).where(Decision.stage == "county")))
    assert sorted(r.subject_id for r in rows) == sorted(villages)
    assert {(r.outcome, r.reviewer_id, r.flow_run_id) for r in rows} == {("accepted", "X0", run_id)}
    assert set(session.scalars(select(Plan.status))) == {"approved"}
