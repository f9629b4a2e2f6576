"""The county report as one self-contained HTML file: plain tables, the charts inlined as
PNG data URIs (a file that can be mailed or opened offline, nothing to fetch)."""

from __future__ import annotations

import base64
from html import escape

from zhucun.reports.model import CountyReport, Section, TableData

_STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       max-width: 960px; margin: 2em auto; color: #222; line-height: 1.6; padding: 0 1em; }
h1 { text-align: center; font-size: 1.6em; margin-bottom: .2em; }
.subtitle { text-align: center; color: #555; margin-top: 0; }
h2 { border-left: 5px solid #c0392b; padding-left: .5em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; width: 100%; font-size: .92em; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
th, td { border: 1px solid #bbb; padding: .25em .5em; }
th { background: #f3e5e3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img.chart { display: block; max-width: 100%; margin: .5em auto; }
footer { margin-top: 3em; color: #777; font-size: .85em; text-align: center; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def is_number(cell: str) -> bool:
    """Right-align counts, money and shares as a printed table does."""
    body = cell.replace(",", "").replace("¥", "").replace("%", "").replace("-", "", 1)
    return body.replace(".", "", 1).isdigit()


def table_html(t: TableData) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(c)}</td>' if is_number(c) else f"<td>{escape(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in t.rows
    )
    return (
        f"<table><caption>{escape(t.caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def section_html(s: Section, report: CountyReport, charts: dict[str, bytes]) -> str:
    parts = [f"<section><h2>{escape(s.title)}</h2>"]
    parts += [f"<p>{escape(n)}</p>" for n in s.notes]
    for key in s.charts:
        if key in charts:
            alt = escape(report.charts[key].title)
            parts.append(f'<img class="chart" alt="{alt}" src="{data_uri(charts[key])}">')
    parts += [table_html(t) for t in s.tables]
    parts.append("</section>")
    return "\n".join(parts)


def county_report_html(report: CountyReport, charts: dict[str, bytes]) -> str:
    sections = "\n".join(section_html(s, report, charts) for s in report.sections)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{escape(report.title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(report.title)}</h1>
<p class="subtitle">{escape(report.subtitle)}</p>
{sections}
<footer>本报告仅含汇总数字，不含任何个人信息。{escape(report.subtitle)}</footer>
</body>
</html>
"""
