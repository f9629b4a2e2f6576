"""The county progress report as data: sections of tables (already formatted, Chinese
first) and chart specifications (raw numbers), read from the database in a handful of
grouped queries.

Only counts and sums leave the database here: no household, cadre or official is named,
and nothing is selected that could carry an ID number, phone, bank account or health
detail, so no renderer can leak one by mistake."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from zhucun.models import (
    County,
    Evaluation,
    Household,
    HouseholdAssessment,
    MonitoringCase,
    Township,
    Village,
)
from zhucun.reports.data_spending import funds_section, measures_section, teams_section
from zhucun.reports.fmt import (
    OUTCOME_ZH,
    STATUS_ZH,
    cause_zh,
    pct,
    today_china,
    zh_period,
)
from zhucun.reports.model import ChartSpec, CountyReport, Ctx, Section, TableData
from zhucun.reports.model import count as _n

STATUSES = ("poor", "exited", "relapsed", "non_poor")
OUTCOMES = ("exit", "monitor", "relapse", "remain")


def gather_county_report(
    session: Session, county: str, year: int, *, today: date | None = None
) -> CountyReport:
    """Every section the models hold for one county and cycle year."""
    c = session.get(County, county)
    if c is None:
        raise LookupError(f"no county {county} in the database")
    villages = {
        v.village_code: v
        for v in session.scalars(select(Village).where(Village.county_code == county))
    }
    towns = dict(
        session.execute(
            select(Township.township_code, Township.name).where(Township.county_code == county)
        ).all()
    )
    ctx = Ctx(session, county, year, villages, towns)
    charts: dict[str, ChartSpec] = {}
    sections = [
        _households(ctx, charts),
        _progress(ctx, charts),
        _causes(ctx, charts),
        measures_section(ctx, charts),
        funds_section(ctx, charts),
        teams_section(ctx, charts),
    ]
    return CountyReport(county, c.name, c.province, year, today or today_china(), sections, charts)


def _households(ctx: Ctx, charts: dict[str, ChartSpec]) -> Section:
    rows = ctx.session.execute(
        select(Household.village_code, Household.status, func.count())
        .where(ctx.in_county(Household.village_code))
        .group_by(Household.village_code, Household.status)
    ).all()
    per: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for vc, status, n in rows:
        per[vc][status] = per[vc].get(status, 0) + int(n)
    totals = {s: sum(p.get(s, 0) for p in per.values()) for s in STATUSES}
    everyone = sum(totals.values())
    registered = totals["poor"] + totals["exited"] + totals["relapsed"]
    town_rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for vc, counts in per.items():
        for s in STATUSES:
            town_rows[ctx.township(vc)][s] += counts.get(s, 0)
    section = Section(
        "一、农户脱贫状态",
        [
            f"全县共 {len(ctx.villages):,} 个行政村（其中贫困村 "
            f"{sum(1 for v in ctx.villages.values() if v.registered_poor):,} 个），"
            f"登记农户 {everyone:,} 户，建档立卡户 {registered:,} 户；"
            f"已脱贫 {totals['exited']:,} 户（占建档立卡户 {pct(totals['exited'], registered)}），"
            f"未脱贫 {totals['poor']:,} 户，返贫 {totals['relapsed']:,} 户。统计截至报告生成日。"
        ],
    )
    section.tables.append(
        TableData(
            "按状态汇总（户）",
            ["状态", "户数", "占比"],
            [[STATUS_ZH[s], _n(totals[s]), pct(totals[s], everyone)] for s in STATUSES],
        )
    )
    section.tables.append(
        TableData(
            "按乡镇（户）",
            ["乡镇", *(STATUS_ZH[s] for s in STATUSES)],
            [[t, *(_n(c[s]) for s in STATUSES)] for t, c in sorted(town_rows.items())],
        )
    )
    section.tables.append(
        TableData(
            "按行政村（户）",
            ["行政村", "所属乡镇", *(STATUS_ZH[s] for s in STATUSES)],
            [
                [ctx.village(vc), ctx.township(vc), *(_n(per[vc][s]) for s in STATUSES)]
                for vc in sorted(per)
            ],
        )
    )
    charts["status"] = ChartSpec(
        "status",
        "bar",
        "农户脱贫状态（户）",
        [STATUS_ZH[s] for s in STATUSES],
        {"户数": [float(totals[s]) for s in STATUSES]},
        "户",
    )
    section.charts.append("status")
    return section


def _progress(ctx: Ctx, charts: dict[str, ChartSpec]) -> Section:
    since = f"{ctx.year}-01"
    outcomes = ctx.session.execute(
        select(Evaluation.period, Evaluation.outcome, func.count())
        .where(ctx.in_county(Evaluation.village_code), Evaluation.period >= since)
        .group_by(Evaluation.period, Evaluation.outcome)
    ).all()
    opened = dict(
        ctx.session.execute(
            select(MonitoringCase.opened_period, func.count())
            .where(ctx.in_county(MonitoringCase.village_code))
            .group_by(MonitoringCase.opened_period)
        ).all()
    )
    closed = dict(
        ctx.session.execute(
            select(MonitoringCase.closed_period, func.count())
            .where(
                ctx.in_county(MonitoringCase.village_code),
                MonitoringCase.closed_period.is_not(None),
                MonitoringCase.status == "closed",  # 风险消除, not a refused identification
            )
            .group_by(MonitoringCase.closed_period)
        ).all()
    )
    open_now = ctx.session.scalar(
        select(func.count())
        .select_from(MonitoringCase)
        .where(ctx.in_county(MonitoringCase.village_code), MonitoringCase.status == "open")
    )
    per: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    for period, outcome, n in outcomes:
        per[period][outcome] = per[period].get(outcome, 0) + int(n)
    periods = sorted(set(per) | {p for p in (*opened, *closed) if p and p >= since})
    section = Section(
        f"二、脱贫与返贫监测（{ctx.year}年1月起，按评估期）",
        [
            f"共 {len(periods)} 个评估期；当前在册监测对象 {int(open_now or 0):,} 户。"
            "“脱贫”为当期评估达标（收入超过标准且两不愁三保障）的户数。"
        ],
    )
    if not periods:
        section.notes.append("尚无评估结果。")
        return section
    section.tables.append(
        TableData(
            "各评估期结果（户）",
            ["评估期", *(OUTCOME_ZH[o] for o in OUTCOMES), "新增监测", "风险消除"],
            [
                [
                    zh_period(p),
                    *(_n(per[p][o]) for o in OUTCOMES),
                    _n(opened.get(p, 0)),
                    _n(closed.get(p, 0)),
                ]
                for p in periods
            ],
        )
    )
    charts["progress"] = ChartSpec(
        "progress",
        "line",
        "各评估期脱贫与监测（户）",
        [zh_period(p) for p in periods],
        {
            "脱贫": [float(per[p]["exit"]) for p in periods],
            "返贫": [float(per[p]["relapse"]) for p in periods],
            "新增监测": [float(opened.get(p, 0)) for p in periods],
            "风险消除": [float(closed.get(p, 0)) for p in periods],
        },
        "户",
    )
    section.charts.append("progress")
    return section


def _causes(ctx: Ctx, charts: dict[str, ChartSpec]) -> Section:
    rows = ctx.session.execute(
        select(HouseholdAssessment.main_cause, func.count())
        .where(
            ctx.in_county(HouseholdAssessment.village_code),
            HouseholdAssessment.cycle_year == ctx.year,
        )
        .group_by(HouseholdAssessment.main_cause)
        .order_by(func.count().desc(), HouseholdAssessment.main_cause)
    ).all()
    total = sum(int(n) for _, n in rows)
    section = Section("三、致贫原因", [f"已识别主要致贫原因的建档立卡户 {total:,} 户。"])
    if not rows:
        section.notes.append("本年度尚未开展致贫原因识别。")
        return section
    section.tables.append(
        TableData(
            "主要致贫原因分布",
            ["主要致贫原因", "户数", "占比"],
            [[cause_zh(c), _n(n), pct(n, total)] for c, n in rows],
        )
    )
    charts["causes"] = ChartSpec(
        "causes",
        "hbar",
        "主要致贫原因（户）",
        [cause_zh(c) for c, _ in rows],
        {"户数": [float(n) for _, n in rows]},
        "户",
    )
    section.charts.append("causes")
    return section
