"""The operator's console: a finished assistance cycle, triggered like `zhucun cycle run
--via-deployment`, opened in the Prefect UI (headless Chromium) on its Artifacts tab, saved
as screenshots/cycle-run-artifacts.png for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from tests.support.browser import LAUNCH_ARGS, ensure_browser, screenshot_path
from tests.support.county import COUNTY, seed_county
from tests.support.stack import api, app_engine, local_stack

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def finished_cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from zhucun.deployments.trigger import run_cycle_via_deployment

    data_dir = tmp_path_factory.mktemp("ui") / "data"
    with local_stack(data_dir, county=COUNTY) as state:
        with Session(app_engine(data_dir)) as s:
            seed_county(s)
            s.commit()
        with temporary_settings(updates={PREFECT_API_URL: state["api_url"]}):
            state["run_id"] = run_cycle_via_deployment(COUNTY, 2026, wait=True)
        yield state


def test_ui_shows_the_finished_cycle_run_and_its_artifacts(
    finished_cycle: dict[str, Any],
) -> None:
    from playwright.sync_api import sync_playwright

    chromium = ensure_browser()
    run = api(finished_cycle["api_url"], f"/flow_runs/{finished_cycle['run_id']}")
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"] == f"cycle-{COUNTY}-2026"
    arts = api(finished_cycle["api_url"], "/artifacts/filter",
               {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})  # fmt: skip
    keys = sorted(a["key"] for a in arts if a["key"])
    assert keys, "the cycle run left no artifact"

    url = f"{finished_cycle['ui_url']}/runs/flow-run/{run['id']}?tab=Artifacts"
    path = screenshot_path("cycle-run-artifacts.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="networkidle", timeout=90_000)
        page.get_by_text(run["name"]).first.wait_for(timeout=60_000)
        page.get_by_text("Artifacts", exact=True).first.click()
        # the tab lists each artifact as a card named by its key
        for key in keys:
            page.get_by_text(key, exact=True).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)  # let the cards' markdown/table previews render
        page.screenshot(path=str(path), full_page=True)
        text = page.inner_text("body")
        browser.close()
    assert "Can't connect" not in text
    assert "Completed" in text and all(k in text for k in keys)
    assert path.stat().st_size > 20_000
