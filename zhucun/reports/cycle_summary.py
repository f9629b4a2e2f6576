"""What the Prefect UI shows of a finished assistance cycle: a line per stage in the
operator's language (each stage's code kept beside its label) and a chart of the households
by main cause of poverty — inline in the summary, and as its own image artifact so the
Artifacts page keeps its history. Counts only: no name, ID number, phone or health detail."""

from __future__ import annotations

from typing import Any

from zhucun.reports.model import ChartSpec


def causes_chart(main_causes: dict[str, int] | None) -> ChartSpec | None:
    """Households by their assessed main cause, largest first (None without any)."""
    from zhucun.labels import label, tr

    rows = sorted(((c, n) for c, n in (main_causes or {}).items() if n), key=lambda r: -r[1])
    if not rows:
        return None
    return ChartSpec(
        "causes",
        "hbar",
        tr("主要致贫原因（户）", "Main cause of poverty (households)"),
        [label("cause", c) for c, _ in rows],
        {tr("户数", "households"): [float(n) for _, n in rows]},
        tr("户", "households"),
    )


def summary_markdown(
    summary: dict[str, Any], *, county_name: str | None = None, chart_png: bytes | None = None
) -> str:
    """The cycle's summary: a line per stage (label and code, then what it did — a list,
    not a table, so that a long line wraps instead of being cut at the artifact's edge),
    the review outcome, and the chart of main causes when there is one."""
    from zhucun.labels import label, place, tr
    from zhucun.reports.render_html import data_uri

    county, year = summary["county"], summary["cycle_year"]
    lines = [
        tr(
            f"# {place(county, county_name)} {year} 年度帮扶周期",
            f"# Assistance cycle {place(county, county_name)} {year}",
        ),
        "",
    ]
    for name, data in summary["stages"].items():
        if name == "review":  # its line follows the list
            continue
        text = describe_stage(name, data or {})
        lines.append(f"- **{label('cycle_stage', name)}** `{name}`{tr('：', ': ')}{text}")
    lines += ["", review_line(summary)]
    if chart_png:
        title = tr("主要致贫原因（户）", "Main cause of poverty (households)")
        lines += ["", f"## {title}", "", f"![{title}]({data_uri(chart_png)})"]
    return "\n".join(lines) + "\n"


def review_line(summary: dict[str, Any]) -> str:
    """Where the cycle's review stands, and what to do about it."""
    from zhucun.labels import tr

    waiting = len((summary["stages"].get("review") or {}).get("left_waiting") or [])
    if not waiting:
        return tr("审核：全部已决定", "review: all decided")
    run = summary.get("review_run")
    todo = (
        tr(f"，审核流程 {run} 在 Prefect 界面等待", f"; review run {run} waits in the Prefect UI")
        if run
        else tr(
            "，用 `zhucun review list` 查看，`zhucun review decide` 或 `zhucun review import` 决定",
            "; see `zhucun review list`, decide with `zhucun review decide` or `review import`",
        )
    )
    return (
        tr(f"审核：{waiting} 个村级审核环节待决定", f"review: {waiting} village stage(s) wait")
        + todo
    )


def _top(counts: dict[str, int] | None, kind: str, n: int = 3) -> str:
    from zhucun.labels import label

    ranked = sorted((counts or {}).items(), key=lambda kv: -kv[1])[:n]
    return "、".join(f"{label(kind, k)} {v:,}" for k, v in ranked)


def describe_stage(name: str, d: dict[str, Any]) -> str:
    """What a stage did, in one sentence of the operator's language."""
    from zhucun.labels import tr, yuan

    g = lambda key: d.get(key) or 0  # noqa: E731 - a missing count reads as 0
    if name == "causes":
        return tr(
            f"{g('households'):,} 户认定致贫原因（新写 {g('written'):,}，保留人工调整 "
            f"{g('overrides_kept'):,}）；主要：{_top(d.get('main_causes'), 'cause')}",
            f"{g('households'):,} households assessed ({g('written'):,} written, "
            f"{g('overrides_kept'):,} overrides kept); main: {_top(d.get('main_causes'), 'cause')}",
        )
    if name == "analysis":
        return tr(f"{g('villages'):,} 个村完成村情分析", f"{g('villages'):,} villages analysed")
    if name == "dispatch":
        return tr(
            f"组建工作队 {g('teams_formed'):,} 支，派驻队员 {g('members_posted'):,} 人，"
            f"结对帮扶 {g('helpers_assigned'):,} 户；在岗工作队 {g('active_teams'):,} 支，"
            f"缺员 {g('shortages_open'):,} 处",
            f"{g('teams_formed'):,} teams formed, {g('members_posted'):,} members posted, "
            f"{g('helpers_assigned'):,} helpers assigned; {g('active_teams'):,} teams active, "
            f"{g('shortages_open'):,} shortages open",
        )
    if name == "plans":
        return tr(
            f"{g('written'):,} 个村发展规划（审核中保留 {g('kept_in_review'):,}），"
            f"总投入 {yuan(g('total_yuan'))}（帮扶单位 {yuan(g('sponsor_yuan'))}，"
            f"县级统筹 {yuan(g('county_funds_yuan'))}）",
            f"{g('written'):,} village plans ({g('kept_in_review'):,} kept in review), "
            f"{yuan(g('total_yuan'))} in all ({yuan(g('sponsor_yuan'))} from sponsors, "
            f"{yuan(g('county_funds_yuan'))} county funds)",
        )
    if name == "strategies":
        return tr(
            f"{g('written'):,} 户一户一策（重拟 {g('redrafted'):,}，审核中保留 "
            f"{g('kept_in_review'):,}），金额 {yuan(g('cost_yuan'))}；措施："
            f"{_top(d.get('measures'), 'measure')}",
            f"{g('written'):,} household strategies ({g('redrafted'):,} redrafted, "
            f"{g('kept_in_review'):,} kept in review), {yuan(g('cost_yuan'))}; measures: "
            f"{_top(d.get('measures'), 'measure')}",
        )
    shown = {k: v for k, v in d.items() if isinstance(v, int | float) and k != "chunks"}
    return ", ".join(f"{k.replace('_', ' ')} {v:,.0f}" for k, v in shown.items())
