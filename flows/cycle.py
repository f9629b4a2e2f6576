"""The assistance cycle of one county (or some of its villages) for one year: the parent
flow that chains the lifecycle stages as subflows.

Order: causes → analysis → dispatch → plans → strategies.
- Causes come first because everything after them reads them: the village analysis counts
  the *assessed* main causes (so analysis runs once, on the final causes), and dispatch
  ranks villages by the analysis' need score and matches cadres' skills to its causes —
  the same numbers the analysis artifact shows.
- Dispatch comes before plans: a plan is funded by the sponsor unit of the village's team.
- The drafts are what the team reviews on arrival (review stage, `flows/review.py`); the
  lead wires `review_cycle` in after strategies. Until then the cycle stops at drafted
  strategies and `decisions_file` is accepted but not used.
Every stage is idempotent, so a re-run of the cycle completes what a failed run left.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, tags
from prefect.artifacts import create_markdown_artifact

from flows.analysis import analyse_villages
from flows.causes import assess_causes
from flows.common import artifact_key
from flows.dispatch import dispatch_cycle
from flows.lifecycle_common import tag_run
from flows.parameters import CountyCode, CycleYear
from flows.plans import draft_plans
from flows.strategies import draft_strategies
from tasks.common import Scope


@flow(name="assistance-cycle", flow_run_name="cycle-{county}-{cycle_year}")
def assistance_cycle(
    county: CountyCode,
    cycle_year: CycleYear,
    villages: list[str] | None = None,
    decisions_file: str | None = None,
) -> dict[str, Any]:
    """Run the cycle's stages in order and leave a markdown summary. `decisions_file` is
    reserved for the review stage (accepted, not used yet)."""
    scope = Scope(county=county, villages=villages)
    tag_run(scope.county)
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
    summary["review"] = "not wired yet: strategies and plans wait as drafts" + (
        f"; decisions file {decisions_file} not applied" if decisions_file else ""
    )
    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key=artifact_key("cycle", scope.label, cycle_year),
        description=f"Assistance cycle {scope.county} {cycle_year}: what each stage did.",
    )
    return summary


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
