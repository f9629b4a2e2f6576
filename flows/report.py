"""The county progress report as a deployment: write it under the data directory (PDF and
HTML) and leave it in the Prefect UI — one markdown artifact with a table per section and
the charts inline, and one image artifact per chart — for an office that reads the UI
rather than the file share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_image_artifact, create_markdown_artifact
from zhucun.flows.common import artifact_key
from zhucun.flows.parameters import CountyCode, CycleYear

from zhucun.settings import get_settings


def report_dir() -> Path:
    """Reports go to <data dir>/reports, next to the database they were read from."""
    return get_settings().data_dir / "reports"


@flow(name="county-report", flow_run_name="report-{county}-{year}")
def county_report(county: CountyCode, year: CycleYear) -> dict[str, Any]:
    """Gather the county's numbers once, render the charts once, write both files.

    Args:
        county: 6-digit code of the county to report on (e.g. 522626).
        year: cycle year of the report (e.g. 2026); exits and monitoring are read from
            January of that year on.
    """
    from zhucun.db import session_scope
    from zhucun.reports import render_report_file
    from zhucun.reports.charts import report_charts
    from zhucun.reports.data import gather_county_report
    from zhucun.reports.render_html import data_uri
    from zhucun.reports.render_markdown import county_report_markdown

    with session_scope() as session:
        report = gather_county_report(session, county, year)
    charts = report_charts(report)
    stem = report_dir() / f"county-report-{county}-{year}"
    files = [
        render_report_file(report, charts, stem.with_suffix(suffix)) for suffix in (".pdf", ".html")
    ]
    create_markdown_artifact(
        markdown=county_report_markdown(report, charts, files=[str(f) for f in files]),
        key=artifact_key("county-report", county, year),
        description=f"{report.title}（汇总数字，不含个人信息）",
    )
    for key, png in charts.items():
        create_image_artifact(
            image_url=data_uri(png),
            key=artifact_key("county-report", county, year, key),
            description=report.charts[key].title,
        )
    get_run_logger().info("county report %s %s written to %s", county, year, files[0].parent)
    return {
        "county": county,
        "year": year,
        "files": [str(f) for f in files],
        "charts": sorted(charts),
        "sections": [s.title for s in report.sections],
    }
