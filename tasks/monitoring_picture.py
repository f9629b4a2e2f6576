"""The county's monitoring picture (防止返贫监测情况) after a monthly run: cases by category
and stage, risk types, the age of open clues, and the households whose risk was
eliminated this month — counts only, never a household or a person, so it can be an
artifact anyone with the Prefect UI reads. A handful of grouped statements per county."""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import MonitoringCase, MonitoringClue, ProcedureCase
from zhucun.models.monitoring import MONITORING_CATEGORY_ZH, RISK_TYPE_ZH, MonitoringCategory
from zhucun.models.monitoring import RiskType as R
from zhucun.tasks.monitoring_cases import period_end
from zhucun.tasks.safety import guarded

from zhucun.db import session_scope
from zhucun.rules import procedure as proc

STATUS_ZH = {
    "pending": "识别程序中",
    "open": "监测中",
    "closed": "已风险消除",
    "rejected": "未纳入",
}
CLUE_AGES = ((7, "7天内"), (15, "8至15天"), (None, "超过15天（逾期）"))


def monitoring_picture(session: Session, county: str, period: str) -> dict[str, Any]:
    """Counts for the county on the period's last day."""
    end = period_end(period)
    mc, clue = MonitoringCase, MonitoringClue
    in_county = mc.village_code.startswith(county)
    by_category: Counter[tuple[str, str]] = Counter()
    for category, status, n in session.execute(
        select(mc.category, mc.status, func.count(mc.id))
        .where(in_county)
        .group_by(mc.category, mc.status)
    ):
        by_category[(category, status)] += int(n)
    risks: Counter[str] = Counter()
    for (types,) in session.execute(
        select(mc.risk_types).where(in_county, mc.status.in_(("pending", "open")))
    ):
        risks.update(types or [R.other.value])
    ages: Counter[str] = Counter()
    for reported_on, n in session.execute(
        select(clue.reported_on, func.count(clue.id))
        .where(clue.village_code.startswith(county), clue.status == "open",
               clue.reported_on <= end)
        .group_by(clue.reported_on)
    ):  # fmt: skip
        ages[_age_bucket((end - reported_on).days)] += int(n)
    eliminated = session.scalar(
        select(func.count(mc.id)).where(in_county, mc.status == "closed",
                                        mc.closed_period == period)
    )  # fmt: skip
    procedures: Counter[str] = Counter()
    for procedure, n in session.execute(
        select(ProcedureCase.procedure, func.count(ProcedureCase.id))
        .where(ProcedureCase.village_code.startswith(county),
               ProcedureCase.procedure.in_(proc.MONITORING_PROCEDURES),
               ProcedureCase.status.not_in((proc.DONE, proc.REJECTED)))
        .group_by(ProcedureCase.procedure)
    ):  # fmt: skip
        procedures[procedure] = int(n)
    return {
        "county": county,
        "period": period,
        "by_category": {f"{c}/{s}": n for (c, s), n in sorted(by_category.items())},
        "risk_types": dict(sorted(risks.items())),
        "clue_ages": {label: ages.get(label, 0) for _, label in CLUE_AGES},
        "eliminated_this_month": int(eliminated or 0),
        "procedures_under_way": dict(sorted(procedures.items())),
    }


def _age_bucket(days: int) -> str:
    for limit, label in CLUE_AGES:
        if limit is None or days <= limit:
            return label
    return CLUE_AGES[-1][1]  # pragma: no cover


def picture_markdown(p: dict[str, Any]) -> str:
    """The picture in Chinese, for the artifact (counts only)."""
    lines = [f"# 防止返贫监测情况 {p['county']} {p['period']}", "", "## 监测对象（按类别）", ""]
    statuses = list(STATUS_ZH)
    lines += ["| 类别 | " + " | ".join(STATUS_ZH[s] for s in statuses) + " |",
              "|---|" + "---|" * len(statuses)]  # fmt: skip
    for category in MonitoringCategory:
        counts = [p["by_category"].get(f"{category.value}/{s}", 0) for s in statuses]
        lines.append(
            f"| {MONITORING_CATEGORY_ZH[category]} | " + " | ".join(map(str, counts)) + " |"
        )
    lines += ["", "## 风险类型（识别程序中和监测中）", "", "| 风险类型 | 户数 |", "|---|---|"]
    for risk in R:
        if p["risk_types"].get(risk.value):
            lines.append(f"| {RISK_TYPE_ZH[risk]} | {p['risk_types'][risk.value]} |")
    lines += ["", "## 待核实线索（按已等待天数）", "", "| 已等待 | 条数 |", "|---|---|"]
    lines += [f"| {label} | {n} |" for label, n in p["clue_ages"].items()]
    under_way = p["procedures_under_way"]
    lines += [
        "",
        f"本月风险消除：{p['eliminated_this_month']} 户。"
        f"办理中：监测对象识别 {under_way.get('monitor', 0)} 户，"
        f"风险消除 {under_way.get('relieve', 0)} 户。",
        "",
    ]
    return "\n".join(lines)


@task(cache_policy=NO_CACHE, name="monitoring-picture", task_run_name="picture-{county}-{period}")
@guarded
def monitoring_picture_task(county: str, period: str) -> dict[str, Any]:
    with session_scope() as session:
        return monitoring_picture(session, county, period)
