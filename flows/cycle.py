"""The assistance cycle of one county (or some of its villages) for one year: the parent
flow that chains the lifecycle stages as subflows.

Order: causes → analysis → dispatch → plans → strategies.
- Causes come first because everything after them reads them: the village analysis counts
  the *assessed* main causes (so analysis runs once, on the final causes), and dispatch
  ranks villages by the analysis' need score and matches cadres' skills to its causes —
  the same numbers the analysis artifact shows.
- Dispatch comes before plans: a plan is funded by the sponsor unit of the village's team.
- Review (`flows/review.py`) follows the drafts:
  - with a `decisions_file` (meeting minutes) it is applied all-or-nothing and the cycle
    runs unattended;
  - with `wait_for_review` the review subflow pauses in this process for a form per village
    and stage (an interactive, single-machine session);
  - otherwise the cycle opens the review (stage clocks start, items wait) and, when it runs
    from a deployment, hands over to a separate `review-cycle` deployment run, which
    *suspends* between decisions and so holds no worker while approvers take their time.
Every stage is idempotent, so a re-run of the cycle completes what a failed run left.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_image_artifact, create_markdown_artifact
from zhucun.flows.analysis import analyse_villages
from zhucun.flows.causes import assess_causes
from zhucun.flows.common import artifact_key, subflows
from zhucun.flows.dispatch import dispatch_cycle
from zhucun.flows.lifecycle_common import tag_run
from zhucun.flows.parameters import CountyCode, CycleYear
from zhucun.flows.plans import draft_plans
from zhucun.flows.review import review_cycle
from zhucun.flows.strategies import draft_strategies
from zhucun.tasks.common import Scope


@flow(name="assistance-cycle", flow_run_name="cycle-{county}-{cycle_year}")
def assistance_cycle(
    county: CountyCode,
    cycle_year: CycleYear,
    villages: list[str] | None = None,
    decisions_file: str | None = None,
    wait_for_review: bool = False,
) -> dict[str, Any]:
    """Run the cycle's stages in order, then review (see the module docstring for the three
    ways it goes), and leave a markdown summary.

    Args:
        county: County code, 6 digits (GB/T 2260), e.g. 522626.
        cycle_year: The cycle year, e.g. 2026 (teams, plans and strategies of that year).
        villages: Only these villages (12-digit codes); empty means the whole county.
        decisions_file: A decisions.csv (meeting minutes) for the review stage, applied
            all-or-nothing; a path the run's machine can read.
        wait_for_review: Pause in this run for the review forms (an interactive session);
            otherwise the review is handed to its own review-cycle run.
    """
    scope = Scope(county=county, villages=villages)
    tag_run(scope.county, cycle_year)
    summary: dict[str, Any] = {
        "county": scope.county,
        "cycle_year": cycle_year,
        "villages": scope.villages,
        "stages": {},
    }
    stages = summary["stages"]
    # No `tags()` block here: a task run with tags asks the server for tag concurrency slots
    # before it starts (Prefect 3.9), the only server round trip of a task run — 0.2 s each
    # on a busy server, most of a province's orchestration. Each stage tags its own flow run
    # (`tag_run`: county, cycle, process), as runs of a deployment are.
    with subflows():
        stages["causes"] = assess_causes(scope.county, cycle_year, scope.villages)
        stages["analysis"] = analyse_villages(scope.county, cycle_year, scope.villages)
        stages["dispatch"] = dispatch_cycle(scope.county, cycle_year, scope.villages)
        stages["plans"] = draft_plans(scope.county, cycle_year, scope.villages)
        stages["strategies"] = draft_strategies(scope.county, cycle_year, scope.villages)
        stages["review"] = review_cycle(
            scope.county,
            cycle_year,
            scope.villages,
            decisions_file=decisions_file,
            wait=wait_for_review,
        )
    waiting = len(stages["review"].get("left_waiting") or [])
    summary["review"] = (
        f"{waiting} village stage(s) still waiting for decisions" if waiting else "all decided"
    )
    if waiting and not decisions_file and not wait_for_review:
        run_id = hand_over_review(scope, cycle_year)
        summary["review_run"] = run_id
        summary["review"] += (
            f"; review run {run_id} waits for them in the Prefect UI"
            if run_id
            else "; decide with `zhucun review decide` or `zhucun review import`"
        )
    publish_summary(summary, scope, cycle_year)
    return summary


def publish_summary(summary: dict[str, Any], scope: Scope, cycle_year: int) -> None:
    """The summary artifact (a row per stage, the chart of main causes inline) and the chart
    as its own image artifact (`cycle-<scope>-<year>-causes-chart`): the run's Artifacts tab
    and the Artifacts page show it without opening a file. Counts only."""
    from zhucun.labels import tr
    from zhucun.reports.charts import render_chart
    from zhucun.reports.cycle_summary import causes_chart, summary_markdown
    from zhucun.reports.render_html import data_uri

    spec = causes_chart((summary["stages"].get("causes") or {}).get("main_causes"))
    png = render_chart(spec) if spec else None
    create_markdown_artifact(
        markdown=summary_markdown(summary, county_name=county_name(scope.county), chart_png=png),
        key=artifact_key("cycle", scope.label, cycle_year),
        description=tr(
            f"{scope.county} {cycle_year} 年度帮扶周期：各环节结果与主要致贫原因图（仅汇总数字）",
            f"Assistance cycle {scope.county} {cycle_year}: what each stage did, with a chart.",
        ),
    )
    if spec and png:
        create_image_artifact(
            image_url=data_uri(png),
            key=artifact_key("cycle", scope.label, cycle_year, "causes-chart"),
            description=tr(f"图表：{spec.title}", f"Chart: {spec.title}"),
        )


def county_name(county: str) -> str | None:
    from sqlalchemy import select
    from zhucun.models import County

    from zhucun.db import session_scope

    with session_scope() as session:
        return session.scalar(select(County.name).where(County.county_code == county))


def hand_over_review(scope: Scope, cycle_year: int) -> str | None:
    """From a deployment, start the `review-cycle` deployment as its own top-level run (it
    suspends between decisions, freeing the worker); one per county and cycle, whatever the
    number of cycle re-runs. Outside a deployment there is nothing to hand over to."""
    from prefect.deployments import run_deployment
    from prefect.runtime import deployment

    if not deployment.id:
        return None
    run = run_deployment(
        "review-cycle/review-cycle",
        parameters={"county": scope.county, "cycle_year": cycle_year, "villages": scope.villages},
        flow_run_name=f"review-{scope.county}-{cycle_year}",
        timeout=0,
        as_subflow=False,
        idempotency_key=f"zhucun:review-cycle:{scope.label}:{cycle_year}",
        tags=[f"county:{scope.county}", f"cycle:{cycle_year}"],
    )
    return str(run.id)
