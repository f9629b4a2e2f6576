"""Report sections on money and people: measures drafted and approved, funds by source
and sponsor resources, teams and their shortages. Counts and sums only."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from zhucun.models import (
    Plan,
    PlanItem,
    Shortage,
    SponsorResource,
    Strategy,
    StrategyMeasure,
    Team,
    TeamMember,
)
from zhucun.models.lifecycle import strategy_on_record
from zhucun.reports.fmt import (
    CATEGORY_ZH,
    FUNDING_ZH,
    PROVIDER_ZH,
    REVIEW_STATUS_ZH,
    SHORTAGE_ZH,
    measure_zh,
    pct,
    yuan,
    zh_date,
)
from zhucun.reports.model import ChartSpec, Ctx, Section, TableData
from zhucun.reports.model import count as _n


def measures_section(ctx: Ctx, charts: dict[str, ChartSpec]) -> Section:
    rows = ctx.session.execute(
        select(
            StrategyMeasure.measure,
            Strategy.status == "approved",
            func.count(),
            func.sum(StrategyMeasure.cost_yuan),
        )
        .join(Strategy, Strategy.id == StrategyMeasure.strategy_id)
        .where(
            ctx.in_county(Strategy.village_code),
            Strategy.cycle_year == ctx.year,
            strategy_on_record(),
        )
        .group_by(StrategyMeasure.measure, Strategy.status == "approved")
    ).all()
    per: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0.0])
    for measure, approved, n, cost in rows:
        acc = per[measure]
        acc[0] += int(n)
        acc[1] += float(cost or 0)
        if approved:
            acc[2] += int(n)
            acc[3] += float(cost or 0)
    statuses = ctx.session.execute(
        select(Strategy.status, func.count())
        .where(
            ctx.in_county(Strategy.village_code),
            Strategy.cycle_year == ctx.year,
            strategy_on_record(),
        )
        .group_by(Strategy.status)
    ).all()
    order = sorted(per, key=lambda m: (-per[m][0], m))
    section = Section(
        "四、帮扶措施（一户一策）",
        [
            "户策略审核状态："
            + (
                "；".join(f"{REVIEW_STATUS_ZH.get(s, s)} {int(n):,} 户" for s, n in statuses)
                or "无"
            )
            + "。“已批准”指经工作队、村两委和乡镇审核通过（含公示中）。"
        ],
    )
    if not per:
        return section
    section.tables.append(
        TableData(
            "按措施统计",
            ["帮扶措施", "拟定（户）", "拟定金额", "已批准（户）", "已批准金额"],
            [
                [measure_zh(m), _n(per[m][0]), yuan(per[m][1]), _n(per[m][2]), yuan(per[m][3])]
                for m in order
            ]
            + [
                [
                    "合计",
                    _n(sum(per[m][0] for m in order)),
                    yuan(sum(per[m][1] for m in order)),
                    _n(sum(per[m][2] for m in order)),
                    yuan(sum(per[m][3] for m in order)),
                ]
            ],
        )
    )
    charts["measures"] = ChartSpec(
        "measures",
        "hbar",
        "帮扶措施：拟定与已批准（户）",
        [measure_zh(m) for m in order],
        {"拟定": [float(per[m][0]) for m in order], "已批准": [float(per[m][2]) for m in order]},
        "户",
    )
    section.charts.append("measures")
    return section


def funds_section(ctx: Ctx, charts: dict[str, ChartSpec]) -> Section:
    plan_rows = ctx.session.execute(
        select(
            PlanItem.funding_source, PlanItem.category, func.count(), func.sum(PlanItem.cost_yuan)
        )
        .where(ctx.in_county(PlanItem.village_code), PlanItem.cycle_year == ctx.year)
        .group_by(PlanItem.funding_source, PlanItem.category)
        .order_by(PlanItem.funding_source, PlanItem.category)
    ).all()
    plans = ctx.session.execute(
        select(Plan.status, func.count(), func.sum(Plan.total_cost_yuan))
        .where(ctx.in_county(Plan.village_code), Plan.cycle_year == ctx.year)
        .group_by(Plan.status)
    ).all()
    providers = ctx.session.execute(
        select(StrategyMeasure.provider, func.count(), func.sum(StrategyMeasure.cost_yuan))
        .join(Strategy, Strategy.id == StrategyMeasure.strategy_id)
        .where(
            ctx.in_county(Strategy.village_code),
            Strategy.cycle_year == ctx.year,
            strategy_on_record(),
        )
        .group_by(StrategyMeasure.provider)
        .order_by(func.sum(StrategyMeasure.cost_yuan).desc())
    ).all()
    agencies = sorted(
        {
            a
            for a in ctx.session.scalars(
                select(Team.agency).where(
                    ctx.in_county(Team.village_code), Team.cycle_year == ctx.year
                )
            )
        }
        | {
            a
            for a in ctx.session.scalars(
                select(Plan.sponsor_agency).where(
                    ctx.in_county(Plan.village_code), Plan.cycle_year == ctx.year
                )
            )
            if a
        }
    )
    sponsors = ctx.session.execute(
        select(SponsorResource.agency, SponsorResource.budget_yuan, SponsorResource.allocated_yuan)
        .where(SponsorResource.cycle_year == ctx.year, SponsorResource.agency.in_(agencies))
        .order_by(SponsorResource.agency)
    ).all()
    plan_total = sum(float(c or 0) for *_, c in plan_rows)
    section = Section(
        "五、资金安排",
        [
            f"村发展规划项目估算 {yuan(plan_total)}；户策略措施估算 "
            f"{yuan(sum(float(c or 0) for *_, c in providers))}。规划审核状态："
            + (
                "；".join(
                    f"{REVIEW_STATUS_ZH.get(s, s)} {int(n)} 个（{yuan(c)}）" for s, n, c in plans
                )
                or "无"
            )
            + "。"
        ],
    )
    if plan_rows:
        section.tables.append(
            TableData(
                "村发展规划项目（按资金来源）",
                ["资金来源", "项目类别", "项目数", "金额"],
                [
                    [FUNDING_ZH.get(f, f), CATEGORY_ZH.get(cat, cat), _n(n), yuan(c)]
                    for f, cat, n, c in plan_rows
                ],
            )
        )
        by_source: dict[str, float] = defaultdict(float)
        for f, _, _, c in plan_rows:
            by_source[FUNDING_ZH.get(f, f)] += float(c or 0)
        charts["funds"] = ChartSpec(
            "funds",
            "bar",
            "规划项目资金（按来源，万元）",
            list(by_source),
            {"金额": [v / 10_000 for v in by_source.values()]},
            "万元",
        )
        section.charts.append("funds")
    if providers:
        section.tables.append(
            TableData(
                "户策略措施（按责任部门）",
                ["责任部门", "措施数", "金额"],
                [[PROVIDER_ZH.get(p, p), _n(n), yuan(c)] for p, n, c in providers],
            )
        )
    if sponsors:
        section.tables.append(
            TableData(
                "帮扶单位资源（已安排 / 可用）",
                ["帮扶单位", "可用资源", "已安排", "使用率"],
                [[a, yuan(b), yuan(u), pct(u, b)] for a, b, u in sponsors],
            )
        )
        charts["sponsors"] = ChartSpec(
            "sponsors",
            "hbar",
            "帮扶单位资源（万元）",
            [a for a, _, _ in sponsors],
            {
                "可用": [float(b) / 10_000 for _, b, _ in sponsors],
                "已安排": [float(u) / 10_000 for _, _, u in sponsors],
            },
            "万元",
        )
        section.charts.append("sponsors")
    return section


def teams_section(ctx: Ctx, charts: dict[str, ChartSpec]) -> Section:
    teams = ctx.session.execute(
        select(
            Team.village_code,
            Team.agency,
            Team.status,
            Team.term_start,
            Team.term_end,
            func.count(TeamMember.cadre_id),
        )
        .join(TeamMember, (TeamMember.team_id == Team.team_id) & TeamMember.active, isouter=True)
        .where(ctx.in_county(Team.village_code), Team.cycle_year == ctx.year)
        .group_by(Team.team_id)
        .order_by(Team.village_code)
    ).all()
    shortages = ctx.session.execute(
        select(Shortage.village_code, Shortage.kind, Shortage.missing_members)
        .where(ctx.in_county(Shortage.village_code), Shortage.cycle_year == ctx.year)
        .order_by(Shortage.village_code, Shortage.kind)
    ).all()
    active_teams = ctx.session.scalar(
        select(func.count(func.distinct(Team.team_id))).where(
            ctx.in_county(Team.village_code), Team.cycle_year == ctx.year, Team.status == "active"
        )
    )
    poor_villages = sum(1 for v in ctx.villages.values() if v.registered_poor)
    members = sum(int(n) for *_, n in teams)
    section = Section(
        "六、驻村工作队",
        [
            f"{ctx.year}年度选派工作队 {len(teams):,} 支（在岗 {int(active_teams or 0):,} 支），"
            f"在岗队员 {members:,} 人；贫困村 {poor_villages:,} 个。"
            f"人员缺口 {sum(int(m) for *_, m in shortages):,} 人（{len(shortages)} 项）。"
        ],
    )
    if teams:
        section.tables.append(
            TableData(
                "各村工作队",
                ["行政村", "所属乡镇", "派出单位", "在岗队员", "任期", "状态"],
                [
                    [
                        ctx.village(vc),
                        ctx.township(vc),
                        agency,
                        _n(n),
                        f"{zh_date(start)}至{zh_date(end)}",
                        {"active": "在岗", "ended": "期满", "recalled": "召回"}.get(st, st),
                    ]
                    for vc, agency, st, start, end, n in teams
                ],
            )
        )
    if shortages:
        section.tables.append(
            TableData(
                "人员缺口",
                ["行政村", "所属乡镇", "岗位", "缺额（人）"],
                [
                    [ctx.village(vc), ctx.township(vc), SHORTAGE_ZH.get(k, k), _n(m)]
                    for vc, k, m in shortages
                ],
            )
        )
    by_agency: dict[str, int] = defaultdict(int)
    for _, agency, *_, n in teams:
        by_agency[agency] += int(n)
    if by_agency:
        charts["teams"] = ChartSpec(
            "teams",
            "hbar",
            "各派出单位在岗队员（人）",
            list(by_agency),
            {"队员": [float(v) for v in by_agency.values()]},
            "人",
        )
        section.charts.append("teams")
    return section
