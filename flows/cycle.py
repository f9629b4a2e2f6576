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

from prefect import flow, tags
from prefect.artifacts import create_markdown_artifact
from zhucun.flows.analysis import analyse_villages
from zhucun.flows.causes import assess_causes
from zhucun.flows.common import artifact_key
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
    with tags(f"county:{scope.county}", f"cycle:{cycle_year}"):
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
    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key=artifact_key("cycle", scope.label, cycle_year),
        description=f"Assistance cycle {scope.county} {cycle_year}: what each stage did.",
    )
    return summary


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


def summary_markdown(summary: dict[str, Any]) -> str:
    """A short per-stage table (counts only: nothing personal)."""
    s = summary["stages"]
    lines = [
        f"# Assistance cycle {summary['county']} {summary['cycle_year']}",
        "",
        "| stage | result |",
        "|---|---|",
    ]
    for name, data in s.items():
        keep = {
            k: v
            for k, v in (data or {}).items()
            if isinstance(v, int | float | str) and k != "stage"
        }
        lines.append(f"| {name} | " + ", ".join(f"{k}: {v}" for k, v in keep.items()) + " |")
    lines += ["", f"Review: {summary['review']}"]
    return "\n".join(lines) + "\n"
