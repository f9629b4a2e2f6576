"""Procedure stages decided in the Prefect UI (识别 identification, 退出 household exit,
贫困村退出 village exit, and monitoring's 监测对象识别 and 风险消除): the run waits with one
form per signing body and stage — a village's appraisal, committee, team or
acknowledgement, a township, the county — exactly as
the strategy review does (`flows.review._wait`: it suspends when a deployment runs it,
pauses elsewhere; the pause key comes from the database, so a re-run after a suspension
reaches the same form). A submission goes through `tasks.review_ledger.decide`, the one
engine behind the CLI, decisions files and minutes; refusals are recorded in the ledger and
shown on the next form. Stages nobody decides (publicity windows, the cross-check) are
moved by `procedures-daily`; the run ends when only they are left. Every procedure takes the
same path: a stage's kind (policy data) chooses the form's fields — an `appraisal` asks for
the meeting's tally, an `acknowledge` for who of the household signed (户认可 of an exit,
承诺授权 of a monitoring identification).
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.input import RunInput
from pydantic import BaseModel, Field
from zhucun.flows.common import artifact_key
from zhucun.flows.lifecycle_common import tag_run
from zhucun.flows.parameters import CountyCode, CycleYear
from zhucun.flows.review import MAX_FORMS_PER_RUN, _wait
from zhucun.tasks.procedure_forms import form_task, pending_forms_task, submit_task


class CaseDecision(BaseModel):
    subject_id: str = Field(
        title="户编号 / 村代码",
        description="户编号 (e.g. H200001); for a village exit the village code",
    )
    decision: Literal["approve", "reject", "return"] = Field(
        default="approve",
        title="决定",
        description="approve 同意 / return 退回重新评议 / reject 不予通过（结束）",
    )
    reason: str = Field(
        default="",
        title="理由",
        description="退回或不予通过须写理由 (required to return or reject)",
    )


class AppraisalCase(CaseDecision):
    in_favour: int | None = Field(
        default=None, title="赞成人数", description="本户的赞成票（空：用表单的赞成人数）"
    )


class AcknowledgedCase(CaseDecision):
    acknowledged_by: str = Field(
        default="",
        title="签字人",
        description="签字认可（退出）或承诺授权（监测）的户主或家庭成员姓名（与登记一致）",
    )


class ProcedureForm(RunInput):
    """The form of one signing body and stage of a procedure (the description lists the
    cases and who may decide)."""

    reviewer_id: str = Field(
        default="",
        title="决定人编号",
        description="村两委、乡镇、县级填人员编号 (e.g. T0)，工作队填干部编号 (e.g. C010)",
    )
    approve_all: bool = Field(
        default=False, title="全部同意 (Approve all)", description="同意您这一级决定的全部所列事项"
    )
    decisions: list[CaseDecision] = Field(
        default_factory=list,
        title="逐项决定 (Decisions)",
        description="逐项填写；与“全部同意”同时填写时以逐项为准",
    )


class AppraisalForm(ProcedureForm):
    """民主评议: the meeting's tally, recorded with every decision."""

    representatives: int | None = Field(default=None, title="村民代表总数", ge=0)
    present: int | None = Field(default=None, title="到会人数", ge=0)
    in_favour: int | None = Field(default=None, title="赞成人数", ge=0)
    decisions: list[AppraisalCase] = Field(  # type: ignore[assignment]
        default_factory=list, title="逐项决定 (Decisions)", description="逐户填写；可填本户赞成人数"
    )


class AcknowledgeForm(ProcedureForm):
    """户认可 / 承诺授权: each household's own signature, by the person who signed."""

    decisions: list[AcknowledgedCase] = Field(  # type: ignore[assignment]
        default_factory=list,
        title="逐户签字 (Signatures)",
        description="逐户填写签字人；未签字认可或未承诺授权的户选“不予通过”并写理由",
    )


FORMS: dict[str, type[ProcedureForm]] = {
    "appraisal": AppraisalForm,
    "acknowledge": AcknowledgeForm,
}


def _empty(answer: ProcedureForm) -> bool:
    return not answer.reviewer_id.strip() and not answer.approve_all and not answer.decisions


@flow(name="procedure-forms", flow_run_name="procedure-forms-{procedure}-{county}-{cycle_year}")
def procedure_forms(
    county: CountyCode,
    cycle_year: CycleYear,
    procedure: Literal["identify", "exit", "vexit", "monitor", "relieve"] = "exit",
    wait_timeout_seconds: int | None = None,
    poll_seconds: int = 10,
) -> dict[str, Any]:
    """Wait for one form per signing body and stage of a procedure's cases in a county
    until only stages nobody decides are left.

    Args:
        county: County code, 6 digits (GB/T 2260), e.g. 522626.
        cycle_year: The cycle year of the cases, e.g. 2026.
        procedure: identify (贫困户识别), exit (贫困户退出), vexit (贫困村退出), monitor
            (防止返贫监测对象识别) or relieve (监测对象风险消除).
        wait_timeout_seconds: How long a form waits; empty means the policy's review deadline.
        poll_seconds: How often a paused run checks for its input (in-process pauses).
    """
    tag_run(county, cycle_year)
    summary: dict[str, Any] = {"procedure": procedure, "forms": 0, "accepted": 0, "refused": 0}
    skipped: set[tuple[str, str]] = set()  # a unit whose cases nobody can take up now

    def pending() -> list[dict[str, Any]]:
        units = pending_forms_task(county, procedure, cycle_year)
        return [u for u in units if (u["stage"], u["area"]) not in skipped]

    units = pending()
    while units and summary["forms"] < MAX_FORMS_PER_RUN:
        u = units[0]
        args = (county, procedure, cycle_year, u["area"], u["stage"], u["villages"])
        form = form_task(*args)
        if form["items"]:
            timeout = wait_timeout_seconds or form["deadline_seconds"]
            answer = _wait(form, timeout, poll_seconds, FORMS.get(form["kind"], ProcedureForm))
            summary["forms"] += 1
            moved = form_task(*args)
            # an empty form after the ledger moved: the CLI decided meanwhile, just re-read
            if not (_empty(answer) and moved["key"] != form["key"]):
                fields = set(type(answer).model_fields) - set(RunInput.model_fields)
                counts = submit_task(*args, answer.model_dump(include=fields))
                summary["accepted"] += counts["accepted"]
                summary["refused"] += counts["refused"]
        else:
            skipped.add((u["stage"], u["area"]))
        units = pending()
    create_markdown_artifact(
        markdown=f"# {procedure} {county} {cycle_year}\n\nForms answered: {summary['forms']}; "
        f"decisions accepted {summary['accepted']}, refused {summary['refused']}. Cases now "
        "wait for a publicity window, the cross-check or nothing (see `procedures-daily`).\n",
        key=artifact_key("procedure-forms", f"{procedure}-{county}", cycle_year),
        description=f"Procedure forms {procedure} {county} {cycle_year}: what was decided.",
    )
    return summary
