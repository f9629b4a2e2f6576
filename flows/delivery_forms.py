"""Measure delivery (措施落实) recorded in the Prefect UI: the run waits with one form per
village listing the measures of the strategies in force that are still planned (未启动) or
in delivery (实施中) — household ID, the head's masked name, the measure in Chinese, its
state — one prefilled entry per measure (new state, date, amount spent, evidence note) and
who records (the household's helper or a member of the village's team).

It waits exactly as the strategy review does (`flows.review._wait`: suspends when a
deployment runs it, pauses elsewhere; the pause key comes from the database). A submission
goes through `tasks.delivery.record`, the one engine behind `zhucun measures deliver` and
`zhucun measures import`: all or nothing; refusals are shown on the village's next form.
An accepted or an empty submission finishes the village for this run; the run ends when
every village with open measures has been answered.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.input import RunInput
from pydantic import BaseModel, Field
from zhucun.flows.common import artifact_key
from zhucun.flows.lifecycle_common import tag_run
from zhucun.flows.parameters import CountyCode, CycleYear, VillageCode
from zhucun.flows.review import MAX_FORMS_PER_RUN, _wait
from zhucun.tasks.common import current_flow_run_id
from zhucun.tasks.delivery_forms import (
    form_task,
    pending_villages_task,
    run_rows_task,
    submit_task,
)


class MeasureEntry(BaseModel):
    item: str = Field(
        default="", title="户 · 措施", description="仅供识别 (for reading only; not recorded)"
    )
    household_id: str = Field(title="户编号", description="e.g. H200001")
    measure: str = Field(title="措施代码", description="e.g. industry 产业帮扶, health 健康帮扶")
    current: str = Field(
        default="planned", title="当前状态", description="表单生成时的状态（不必修改）"
    )
    state: Literal["planned", "in_delivery", "delivered", "not_delivered"] = Field(
        default="planned",
        title="新状态",
        description="in_delivery 实施中 / delivered 已落实 / not_delivered 未落实；不变则不记录",
    )
    on: date | None = Field(default=None, title="日期", description="YYYY-MM-DD；空：今天")
    spent_yuan: float | None = Field(
        default=None, title="实际支出（元）", description="已落实须填，e.g. 3800", ge=0
    )
    note: str = Field(
        default="",
        title="佐证说明",
        description="凭证、签约等；未落实须写原因（身份证号、电话、银行账号会被遮盖）",
    )
    recorded_by: str = Field(
        default="", title="记录人编号（本项）", description="空：用表单的记录人"
    )


class DeliveryForm(RunInput):
    """The delivery form of one village (the description lists its open measures)."""

    recorded_by: str = Field(
        default="",
        title="记录人编号",
        description="本户帮扶责任人或本村工作队员的干部编号 (e.g. C010)",
    )
    entries: list[MeasureEntry] = Field(
        default_factory=list,
        title="逐项落实 (Measures)",
        description="每项措施一行：改“新状态”并填日期、实际支出、佐证说明；不改的行不记录",
    )


@flow(name="measure-delivery-forms", flow_run_name="delivery-forms-{county}-{cycle_year}")
def measure_delivery_forms(
    county: CountyCode,
    cycle_year: CycleYear,
    village: VillageCode | None = None,
    wait_timeout_seconds: int | None = None,
    poll_seconds: int = 10,
) -> dict[str, Any]:
    """Wait for one delivery form per village with measures still to deliver.

    Args:
        county: County code, 6 digits (GB/T 2260), e.g. 522626.
        cycle_year: The cycle year of the approved strategies, e.g. 2026.
        village: Only this village (12-digit code); empty means every village of the county.
        wait_timeout_seconds: How long a form waits; empty means the policy's review deadline.
        poll_seconds: How often a paused run checks for its input (in-process pauses).
    """
    tag_run(county, cycle_year)
    run_id = current_flow_run_id()
    summary: dict[str, Any] = {"forms": 0, "written": 0, "refused": 0}
    skipped: set[str] = set()

    def pending() -> list[str]:
        return [v for v in pending_villages_task(county, cycle_year, village, run_id)
                if v not in skipped]  # fmt: skip

    villages = pending()
    while villages and summary["forms"] < MAX_FORMS_PER_RUN:
        v = villages[0]
        form = form_task(county, cycle_year, v)
        if not form["items"]:
            skipped.add(v)
        else:
            model = DeliveryForm.with_initial_data(
                entries=[MeasureEntry(**e) for e in form["entries"]]
            )
            timeout = wait_timeout_seconds or form["deadline_seconds"]
            answer = _wait(form, timeout, poll_seconds, model)
            counts = submit_task(cycle_year, v, answer.model_dump(mode="json"))
            summary["forms"] += 1
            summary["written"] += counts["written"]
            summary["refused"] += counts["refused"]
        villages = pending()
    create_table_artifact(
        table=run_rows_task(cycle_year, run_id)
        or [{"村代码": "-", "表单": 0, "写入": 0, "未通过": 0, "实际支出": "—"}],
        key=artifact_key("delivery-forms", county, cycle_year),
        description=f"措施落实登记 {county} {cycle_year}: forms answered per village, records "
        "written, refused, amount spent (counts and money only).",
    )
    return summary
