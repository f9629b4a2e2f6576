"""Review under mutual supervision: team signs ▸ committee co-signs ▸ township approves
(plans: ▸ county), conflicts escalate, approved items go to publicity (公示).

The database is the source of truth. The run only asks: it pauses with one form per
signing body and stage — a village's team, its committee (different people sign each
village), a township (one form for all its villages), the county — with reviewer ID,
approve-all or per-item decisions; the description lists the items by village and names
who may decide; a submission goes through the same validation as the CLI and
decisions files (`tasks.review.decide`), refusals are recorded and shown on the next form.

- From a deployment (a top-level run), it *suspends*: the process ends, the run re-runs from
  the top when resumed. Everything before the suspension is idempotent and the pause key is
  derived from the database (village/township/county, stage, ledger size), so the re-run
  reaches the same key and receives the input. No persisted results are needed: the tasks
  re-run and read the database (they are never cached). Elsewhere (a subflow, a plain
  call) it *pauses* in-process.
- With a `decisions_file` the file is applied all-or-nothing and the run does not pause:
  items still pending are left waiting for a later run, the CLI or another file. An invalid
  file fails the run after listing its errors (nothing applied).
- `zhucun review decide` records decisions and then resumes a waiting run with an empty
  form; the run sees the ledger moved and just re-reads.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.input import RunInput
from pydantic import BaseModel, Field
from zhucun.flows.common import artifact_key, emit, task_runner
from zhucun.flows.lifecycle_common import HOUSEHOLDS_PER_TASK, run_per_chunk, tag_run
from zhucun.flows.parameters import CountyCode
from zhucun.tasks.common import Scope
from zhucun.tasks.review import (
    apply_file_task,
    close_publicity_task,
    dashboard_task,
    form_task,
    form_units,
    overdue_task,
    pending_task,
    submit_task,
    sync_task,
)

from zhucun.privacy import mask_text

MAX_FORMS_PER_RUN = 10_000  # a guard against a loop that never ends


class ItemDecision(BaseModel):
    subject_id: str = Field(
        title="户编号 / 村代码",
        description="户编号 (e.g. H200001) of a strategy, or the village code of its plan",
    )
    decision: Literal["approve", "reject", "return"] = Field(
        default="approve",
        title="决定",
        description="approve 同意 / return 退回修改 / reject 不予批准",
    )
    reason: str = Field(
        default="",
        title="理由",
        description="退回或不予批准须写理由 (required to return or reject)",
    )


class ReviewForm(RunInput):
    """The review form of one signing body and stage (the description lists the items)."""

    reviewer_id: str = Field(
        default="",
        title="审核人编号",
        description="工作队填干部编号 (e.g. C010)，村两委、乡镇、县级填人员编号 (e.g. T0)",
    )
    approve_all: bool = Field(
        default=False,
        title="全部同意 (Approve all)",
        description="同意您这一级决定的全部所列事项",
    )
    decisions: list[ItemDecision] = Field(
        default_factory=list,
        title="逐项决定 (Decisions)",
        description="逐项填写；与“全部同意”同时填写时以逐项为准",
    )


def _wait(
    form: dict[str, Any], timeout: int, poll: int, model_cls: type[RunInput] = ReviewForm
) -> Any:
    """Suspend (a deployment's top-level run) or pause (elsewhere) for the form's input;
    the procedure forms (`flows.procedure_forms`) wait the same way."""
    from prefect.flow_runs import pause_flow_run, suspend_flow_run
    from prefect.runtime import deployment, flow_run

    model = model_cls.with_initial_data(description=form["markdown"])
    if deployment.id and not flow_run.parent_flow_run_id:
        return suspend_flow_run(wait_for_input=model, timeout=timeout, key=form["key"])
    return pause_flow_run(
        wait_for_input=model, timeout=timeout, poll_interval=poll, key=form["key"]
    )


def _empty(answer: ReviewForm) -> bool:
    return not answer.reviewer_id.strip() and not answer.approve_all and not answer.decisions


@flow(
    name="review-cycle",
    flow_run_name="review-{county}-{cycle_year}",
    task_runner=task_runner(),
)
def review_cycle(
    county: CountyCode,
    cycle_year: int,
    villages: list[str] | None = None,
    decisions_file: str | None = None,
    wait_timeout_seconds: int | None = None,
    poll_seconds: int = 10,
    wait: bool = True,
) -> dict[str, Any]:
    """Close due publicity windows, start the stage clocks, apply a decisions file if given,
    then (without a file, and unless `wait` is false) wait for one form per signing body:
    a village's team, its committee, a township (all its villages), the county.

    Args:
        county: County code, 6 digits (GB/T 2260), e.g. 522626.
        cycle_year: The cycle year whose plans and strategies are reviewed, e.g. 2026.
        villages: Only these villages (12-digit codes); empty means the whole county.
        decisions_file: A decisions.csv (meeting minutes) applied all-or-nothing instead of
            forms; a path the run's machine can read.
        wait_timeout_seconds: How long a form waits; empty means the policy's review deadline.
        poll_seconds: How often a paused run checks for its input (in-process pauses).
        wait: False only opens the review: items wait for the CLI, a file or a later run.
    """
    scope = Scope(county=county, villages=villages)
    tag_run(scope.county, cycle_year)
    closed = close_publicity_task(scope.county)
    run_per_chunk(
        sync_task,
        scope,
        "review",
        cycle_year,
        "villages",
        households_per_task=HOUSEHOLDS_PER_TASK,
        cycle_year=cycle_year,
    )
    summary: dict[str, Any] = {
        "stage": "review",
        "publicity_closed": closed["closed"],
        "forms": 0,
        "accepted": 0,
        "refused": 0,
    }
    if decisions_file:
        applied = apply_file_task(scope.county, cycle_year, decisions_file)
        summary.update(
            file_accepted=applied.get("accepted", 0), file_skipped=applied.get("skipped", 0)
        )
        if not applied["ok"]:
            _file_errors_artifact(scope, cycle_year, decisions_file, applied["errors"])
            raise ValueError(
                f"decisions file {decisions_file} refused ({applied['error_count']} errors, "
                f"nothing applied); first: {mask_text(applied['errors'][0])}"
            )
    # a unit whose form shows nothing (the groups counted an item no form can show) is set
    # aside for this run: re-reading the same groups would otherwise spin without end
    skipped: set[tuple[str, str]] = set()

    def pending() -> list[dict[str, Any]]:
        groups = pending_task(scope.county, cycle_year, scope.villages)
        return [g for g in groups if _unit_of(g) not in skipped]

    groups = pending()
    _dashboard_artifact(scope.county, cycle_year)
    while groups and wait and not decisions_file and summary["forms"] < MAX_FORMS_PER_RUN:
        u = form_units(groups)[0]
        form = form_task(scope.county, cycle_year, u["area"], u["stage"], u["villages"])
        if not form["items"]:
            skipped.add((u["stage"], u["area"]))
        else:
            timeout = wait_timeout_seconds or form["deadline_seconds"]
            answer = _wait(form, timeout, poll_seconds)
            summary["forms"] += 1
            moved = form_task(scope.county, cycle_year, u["area"], u["stage"], u["villages"])
            if not (_empty(answer) and moved["key"] != form["key"]):
                counts = submit_task(
                    scope.county,
                    cycle_year,
                    u["area"],
                    u["stage"],
                    answer.model_dump(include={"reviewer_id", "approve_all", "decisions"}),
                    villages=u["villages"],
                )
                summary["accepted"] += counts["accepted"]
                summary["refused"] += counts["refused"]
            _dashboard_artifact(scope.county, cycle_year)
        groups = pending()
    summary["left_waiting"] = (
        pending_task(scope.county, cycle_year, scope.villages) if skipped else groups
    )
    _summary_artifact(scope, cycle_year, summary)
    return summary


def _unit_of(group: dict[str, Any]) -> tuple[str, str]:
    """(stage, area) of the form a pending group belongs to (`form_units`' grouping)."""
    unit = form_units([group])[0]
    return unit["stage"], unit["area"]


def _dashboard_artifact(county: str, cycle_year: int) -> None:
    """One dashboard per county and cycle (its history shows how the backlog moved)."""
    create_markdown_artifact(
        markdown=dashboard_task(county, cycle_year),
        key=artifact_key("review-dashboard", county, cycle_year),
        description=f"审核看板 {county} {cycle_year}: waiting items by township and stage.",
    )


def _summary_artifact(scope: Scope, cycle_year: int, summary: dict[str, Any]) -> None:
    waiting = summary["left_waiting"]
    lines = [
        f"# Review {scope.county} {cycle_year}",
        "",
        f"Forms answered: {summary['forms']}; decisions accepted {summary['accepted']}, "
        f"refused {summary['refused']}; publicity windows closed "
        f"{summary['publicity_closed']}."
        + (
            f" Decisions file: {summary.get('file_accepted', 0)} applied, "
            f"{summary.get('file_skipped', 0)} already applied."
            if "file_accepted" in summary
            else ""
        ),
        "",
    ]
    if waiting:
        lines += [
            "Still waiting (decide with the CLI, a decisions file or a new run):",
            "",
            "| village | stage | strategies | plans |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {g['village']} | {g['stage']} | {g['strategies']} | {g['plans']} |" for g in waiting
        ]
    else:
        lines.append("Nothing waits for review.")
    create_markdown_artifact(
        markdown="\n".join(lines) + "\n",
        key=artifact_key("review", scope.label, cycle_year),
        description=f"Review {scope.county} {cycle_year}: what was decided, what waits.",
    )


def _file_errors_artifact(scope: Scope, cycle_year: int, path: str, errors: list[str]) -> None:
    create_table_artifact(
        table=[{"error": mask_text(e)} for e in errors],
        key=artifact_key("review-file", scope.label, cycle_year),
        description=f"Decisions file refused as a whole (nothing applied): {path}",
    )


@flow(name="check-overdue-reviews", flow_run_name="overdue-reviews-{county}")
def check_overdue_reviews(county: CountyCode | None = None) -> dict[str, Any]:
    """Close due publicity windows and report stages undecided past the policy's deadline:
    one `zhucun.review.overdue` event per village and stage (counts only).

    Args:
        county: County code, 6 digits (GB/T 2260); empty means every county.
    """
    code = Scope(county=county).county if county else None
    if code:
        tag_run(code)
    closed = close_publicity_task(code)
    groups = overdue_task(code)
    for g in groups:
        emit(
            "zhucun.review.overdue",
            f"zhucun.village.{g['village']}",
            {"county": g["village"][:6], **g},
        )
    create_table_artifact(
        table=groups or [{"village": "-", "stage": "-", "strategies": 0, "plans": 0}],
        key=artifact_key("review-overdue", code or "all"),
        description="Review stages undecided past the policy deadline (counts only).",
    )
    return {"overdue_groups": len(groups), "publicity_closed": closed["closed"], "groups": groups}
