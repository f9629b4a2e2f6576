"""How a Chinese county office writes numbers, dates and labels on paper: one helper per
kind, so the PDF, the HTML and the Prefect artifact all read the same."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from zhucun.models.enums import CAUSE_ZH, MEASURE_ZH, Cause, Measure

CHINA = ZoneInfo("Asia/Shanghai")

STATUS_ZH = {"poor": "未脱贫", "exited": "已脱贫", "relapsed": "返贫", "non_poor": "非贫困户"}
OUTCOME_ZH = {"remain": "未达标", "exit": "脱贫", "monitor": "有返贫风险", "relapse": "返贫"}
FUNDING_ZH = {
    "sponsor_unit": "帮扶单位资金",
    "integrated_county_funds": "县级统筹整合资金",
    "donations": "社会捐赠",
}
CATEGORY_ZH = {
    "infrastructure": "基础设施",
    "industry": "产业发展",
    "culture": "文化建设",
    "public_service": "公共服务",
}
REVIEW_STATUS_ZH = {
    "draft": "草拟",
    "team_signed": "工作队已签",
    "committee_signed": "村两委已签",
    "township_approved": "乡镇已审",
    "approved": "已批准",
    "returned": "退回修改",
    "rejected": "不予批准",
    "superseded": "已被调整版本替代",
    "done": "已公告",
    "appraisal": "待民主评议",
    "committee": "待村两委核实",
    "team": "待工作队核实",
    "acknowledge": "待户认可",
    "publicity": "公示中",
    "publicity1": "第一次公示中",
    "publicity2": "第二次公示中",
    "township": "待乡镇审核",
    "crosscheck": "待数据比对",
    "county": "待县审定",
    "announce": "待公告",
}
SHORTAGE_ZH = {"team": "工作队员", "leader": "第一书记", "helper": "帮扶责任人"}
PROVIDER_ZH = {
    "county agriculture bureau": "县农业农村局",
    "county human resources bureau": "县人力资源和社会保障局",
    "rural credit cooperative": "农村信用社",
    "county education bureau": "县教育局",
    "county health commission": "县卫生健康局",
    "county disabled persons' federation": "县残疾人联合会",
    "county civil affairs bureau": "县民政局",
    "county housing bureau": "县住房和城乡建设局",
    "county water bureau": "县水利局",
    "county development and reform bureau": "县发展和改革局",
    "county forestry bureau": "县林业局",
    "township government": "乡镇人民政府",
    "village collective": "村集体",
    "county emergency bureau": "县应急管理局",
    "resident work team": "驻村工作队",
}


def yuan(x: float | int | None) -> str:
    """¥1,234,567: whole yuan with thousands separators, as a budget table shows money."""
    if x is None:
        return "—"
    value = round(float(x))
    return f"-¥{-value:,}" if value < 0 else f"¥{value:,}"


def zh_date(d: date | datetime) -> str:
    """2026年3月2日 (no leading zeros, as an official document dates itself)."""
    return f"{d.year}年{d.month}月{d.day}日"


def zh_period(period: str) -> str:
    """'2026-06' → '2026年6月'."""
    year, _, month = period.partition("-")
    return f"{year}年{int(month)}月" if month.isdigit() else period


def today_china() -> date:
    """Today by the server's clock in China (a report printed at 01:00 is that day's)."""
    return datetime.now(CHINA).date()


def named(name: str | None, code: str) -> str:
    """'第1村（130624100200）': the name a reader knows, the code a clerk files by."""
    return f"{name}（{code}）" if name else code


def cause_zh(cause: str) -> str:
    try:
        return CAUSE_ZH[Cause(cause)]
    except ValueError:
        return cause


def measure_zh(measure: str) -> str:
    try:
        return MEASURE_ZH[Measure(measure)]
    except ValueError:
        return measure


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"
