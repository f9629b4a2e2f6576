"""The county report as markdown for the Prefect UI: a table per section, each chart as
an inline data-URI image, so the Artifacts page shows the report without the file."""

from __future__ import annotations

from zhucun.reports.model import CountyReport, TableData
from zhucun.reports.render_html import data_uri


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(t: TableData) -> list[str]:
    lines = [f"**{_cell(t.caption)}**", "", "| " + " | ".join(map(_cell, t.headers)) + " |"]
    lines.append("|" + "---|" * len(t.headers))
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in t.rows]
    return [*lines, ""]


def county_report_markdown(
    report: CountyReport, charts: dict[str, bytes], *, files: list[str] | None = None
) -> str:
    lines = [f"# {report.title}", "", report.subtitle, ""]
    if files:
        lines += ["文件：" + "、".join(f"`{f}`" for f in files), ""]
    for s in report.sections:
        lines += [f"## {s.title}", "", *(f"{n}\n" for n in s.notes)]
        for key in s.charts:
            if key in charts:
                lines += [f"![{report.charts[key].title}]({data_uri(charts[key])})", ""]
        for t in s.tables:
            lines += table_markdown(t)
    return "\n".join(lines)
