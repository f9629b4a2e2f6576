"""Data-quality checks (数据质量核查) of a county's registry, left as a markdown artifact
(`data-quality-<county>`) so the operator sees the history of findings in the Prefect UI.
Warnings only: the flow succeeds whatever it finds."""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from pydantic import Field
from zhucun.flows.common import artifact_key
from zhucun.flows.parameters import CountyCode
from zhucun.tasks.quality import data_quality_task


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def quality_markdown(summary: dict[str, Any]) -> str:
    """Per rule: its code and labels, the count, the first rows (no personal data: the
    rows carry registry numbers and details in words only)."""
    scope = summary["county"] or "all counties"
    lines = [
        f"# Data quality {scope} ({summary['checked_on']})",
        "",
        f"{summary['findings']} finding(s); warnings for the county to correct, not refusals.",
        "",
        "| rule | 规则 | findings |",
        "|---|---|---|",
    ]
    lines += [f"| `{r['code']}` {r['label_en']} | {r['label_zh']} | {r['count']} |"
              for r in summary["rules"]]  # fmt: skip
    for r in summary["rules"]:
        if not r["count"] and not r.get("skipped"):
            continue
        lines += ["", f"## {r['label_zh']} — {r['label_en']} (`{r['code']}`): {r['count']}", ""]
        if r.get("skipped"):
            lines.append(f"skipped: {r['skipped']}")
            continue
        lines += ["| household | member | village | detail |", "|---|---|---|---|"]
        for row in r["rows"]:
            village = f"{row['village_code']} {row['village_name']}"
            lines.append(
                f"| {_cell(row['household_id'])} | {_cell(row['member_id'])} | "
                f"{_cell(village)} | {_cell(row['detail'])} |"
            )
        if r["count"] > len(r["rows"]):
            lines.append(f"\n… and {r['count'] - len(r['rows'])} more")
    return "\n".join(lines) + "\n"


@flow(name="data-quality-check", flow_run_name="data-quality-{county}", log_prints=False)
def data_quality_check(
    county: CountyCode | None = None,
    limit: Annotated[int, Field(ge=0, le=1000, description="Rows shown per rule")] = 5,
) -> dict[str, Any]:
    """Run every data-quality rule on the county (or the whole database) and leave the
    counts and first rows as a markdown artifact."""
    summary = data_quality_task(county, limit)
    create_markdown_artifact(
        markdown=quality_markdown(summary),
        key=artifact_key("data-quality", county or "all"),
        description=f"Data-quality checks, {county or 'all counties'}: "
        f"{summary['findings']} finding(s).",
    )
    return summary
