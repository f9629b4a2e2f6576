"""`zhucun check`: the data-quality checks (数据质量核查) of a county's registry.

Findings are warnings: the command exits 0 whatever it finds (scripts read `findings` in
--json). It runs the `data-quality-check` flow, so the same report stays as an artifact.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zhucun.cli.output import emit_json, fail


def check_command(
    county: Annotated[
        str | None, typer.Option("--county", help="6-digit county code; default: every county")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, max=1000, help="Rows shown per rule")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Show every column, however wide")] = False,
) -> None:
    """Check the registry against the national checklist: causes against the household's
    data, 低保/特困 without the transfer, labour against age and health, poor households
    without a helper, helpers who are themselves poor, the same person twice, heads under
    16, members over 110, monitored households without a development measure. Prints each
    rule's count and first rows; never an ID number, phone or health condition."""
    if county is not None:
        from pydantic import ValidationError

        from zhucun.tasks.common import Scope

        try:
            county = Scope(county=county).county
        except ValidationError as exc:
            fail("; ".join(e["msg"] for e in exc.errors()), code=2)
        from zhucun.cli.guards import require_county

        require_county(county)
    from zhucun.flows.quality import data_quality_check

    summary = data_quality_check(county=county, limit=limit)
    if as_json:
        emit_json(summary)
        return
    print_quality(summary, wide)


def print_quality(summary: dict[str, Any], wide: bool = False) -> None:
    """A table per rule: household ID and village (code and name) never cut; at 80
    columns the member ID gives way first (--wide shows it)."""
    from zhucun.cli.output import Col, print_table, say
    from zhucun.labels import lang, place, tr

    scope = summary["county"] or tr("全部县", "all counties")
    cols = [Col("household", "id"), Col("member", "id", drop=1), Col("village"), Col("detail")]
    for r in summary["rules"]:
        name = r["label_zh"] if lang() == "zh" else r["label_en"]
        title = f"{name} [{r['code']}]{tr('：', ': ')}{r['count']}"
        if r.get("skipped"):
            say(f"{title} " + tr(f"（未检查：{r['skipped']}）", f"(skipped: {r['skipped']})"))
            continue
        if not r["rows"]:
            say(title)
            continue
        rows = [
            [
                row["household_id"],
                row["member_id"] or "",
                place(row["village_code"], row["village_name"]),
                row["detail"],
            ]
            for row in r["rows"]
        ]
        print_table(title, cols, rows, wide=wide)
        if r["count"] > len(r["rows"]):
            more = r["count"] - len(r["rows"])
            say(tr(f"… 另有 {more} 条（--limit 或 --json 查看）", f"… and {more} more"))
    say(
        tr(
            f"数据质量核查 {scope}：发现 {summary['findings']} 处问题（提示性，报告也保存为 Prefect"
            " 工件）",
            f"data quality {scope}: {summary['findings']} finding(s) "
            "(warnings; the report is also a Prefect artifact)",
        ),
        wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
