"""The operator's console: a finished assistance cycle, triggered like `zhucun cycle run
--via-deployment`, opened in the Prefect UI (headless Chromium) — the dashboard, the runs
list, the run's Artifacts tab, the chart artifact it left and its summary with the chart
inline — saved in docs/screenshots/ for the README. One local stack for all of them."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from tests.support.browser import LAUNCH_ARGS, docs_screenshot, ensure_browser
from tests.support.county import COUNTY, seed_county
from tests.support.stack import api, app_engine, local_stack

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RUN_NAME = f"cycle-{COUNTY}-2026"
SUMMARY_KEY = f"cycle-{COUNTY}-2026"
CHART_KEY = f"cycle-{COUNTY}-2026-causes-chart"
PNG = "data:image/png;base64,"


@pytest.fixture(scope="module")
def finished_cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from zhucun.deployments.trigger import run_cycle_via_deployment

    # the browser and the CJK fonts first: the cycle's chart is drawn with the fonts the
    # machine has when the run draws it (on a new machine the chart's labels were boxes)
    ensure_browser()
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    with local_stack(data_dir, county=COUNTY) as state:
        with Session(app_engine(data_dir)) as s:
            state["id_numbers"] = list(seed_county(s).id_numbers.values())
            s.commit()
        with temporary_settings(updates={PREFECT_API_URL: state["api_url"]}):
            state["run_id"] = run_cycle_via_deployment(COUNTY, 2026, wait=True)
        run = api(state["api_url"], f"/flow_runs/{state['run_id']}")
        arts = api(state["api_url"], "/artifacts/filter",
                   {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})  # fmt: skip
        state["run"], state["artifacts"] = run, {a["key"]: a for a in arts if a["key"]}
        yield state


@pytest.fixture(scope="module")
def page(finished_cycle: dict[str, Any]) -> Iterator[Any]:
    """One headless Chromium page for every screenshot of the module."""
    from playwright.sync_api import sync_playwright

    chromium = ensure_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def _open(page: Any, url: str, text: str) -> str:
    """Go to `url` and wait until `text` is on the page (the UI loads its data after)."""
    page.goto(url, wait_until="domcontentloaded", timeout=90_000)
    page.get_by_text(text).first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert "Can't connect" not in body
    return body


def _image_loaded(page: Any, selector: str) -> int:
    """The rendered width of the first image matching `selector` (0: broken or missing)."""
    img = page.locator(selector).first
    img.wait_for(timeout=30_000)
    page.wait_for_function("(el) => el.complete", arg=img.element_handle(), timeout=30_000)
    return int(img.evaluate("(el) => el.naturalWidth"))


def test_the_cycle_run_left_a_summary_and_a_chart(finished_cycle: dict[str, Any]) -> None:
    run, arts = finished_cycle["run"], finished_cycle["artifacts"]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"] == RUN_NAME
    assert {SUMMARY_KEY, CHART_KEY} <= set(arts), sorted(arts)
    chart = arts[CHART_KEY]
    assert chart["type"] == "image" and chart["data"].startswith(PNG)
    assert base64.b64decode(chart["data"][len(PNG) :])[:8] == b"\x89PNG\r\n\x1a\n"
    summary = arts[SUMMARY_KEY]["data"]
    assert summary.startswith(f"# {COUNTY} 阜平县 2026 年度帮扶周期")
    assert "- **致贫原因认定** `causes`：" in summary and f"![主要致贫原因（户）]({PNG}" in summary
    assert not any(n in summary for n in finished_cycle["id_numbers"])


def test_the_dashboard_and_the_runs_list(finished_cycle: dict[str, Any], page: Any) -> None:
    ui = finished_cycle["ui_url"]
    _open(page, f"{ui}/dashboard", "Flow Runs")
    page.get_by_text("Completed").first.wait_for(timeout=60_000)  # the task runs' counts
    page.wait_for_load_state("networkidle")  # the bar chart of flow runs
    assert "Task Runs" in page.inner_text("body")
    assert docs_screenshot(page, "prefect-dashboard.png").stat().st_size > 20_000

    body = _open(page, f"{ui}/runs", RUN_NAME)
    assert f"county:{COUNTY}" in body and "cycle:2026" in body
    assert docs_screenshot(page, "prefect-runs.png", full_page=False).stat().st_size > 20_000


def test_the_artifacts_tab_leads_to_the_chart(finished_cycle: dict[str, Any], page: Any) -> None:
    """The run's Artifacts tab lists the summary and the chart (cards, no previews in this
    UI); a click on the chart's card opens its page, where the chart is drawn."""
    ui, run = finished_cycle["ui_url"], finished_cycle["run"]
    _open(page, f"{ui}/runs/flow-run/{run['id']}?tab=Artifacts", RUN_NAME)
    page.get_by_text("Artifacts", exact=True).first.click()
    for key in (SUMMARY_KEY, CHART_KEY):  # each artifact is a card named by its key
        page.get_by_text(key, exact=True).first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert "Completed" in body and "图表：主要致贫原因（户）" in body
    assert docs_screenshot(page, "cycle-run-artifacts.png").stat().st_size > 20_000

    page.get_by_text(CHART_KEY, exact=True).first.click()
    page.wait_for_url(f"**/artifacts/artifact/{finished_cycle['artifacts'][CHART_KEY]['id']}*")
    assert _image_loaded(page, f"img[src^='{PNG}']") >= 600  # the chart, about 700 px wide
    assert docs_screenshot(page, "cycle-chart-artifact.png").stat().st_size > 20_000


def test_the_summary_artifact_shows_the_chart_inline(
    finished_cycle: dict[str, Any], page: Any
) -> None:
    summary = finished_cycle["artifacts"][SUMMARY_KEY]
    body = _open(page, f"{finished_cycle['ui_url']}/artifacts/artifact/{summary['id']}", "阜平县")
    assert "致贫原因认定" in body and "一户一策" in body and "审核：" in body
    assert _image_loaded(page, f"img[src^='{PNG}']") >= 600
    assert not any(n in body for n in finished_cycle["id_numbers"])
    assert docs_screenshot(page, "cycle-summary-artifact.png").stat().st_size > 20_000
