"""Printed outputs of a county office: the county progress report (PDF or HTML) and the
village 公示 notice as an A4 PDF.

Counts only in the county report (no name, no ID number, phone, account or health detail);
household heads named in full in the notice (a 公示 is there to be objected to), never
their ID number, phone, account or health. `write_county_report` is what the CLI and the
flow call."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session

from zhucun.reports.model import CountyReport


def write_county_report(
    session: Session, county: str, year: int, out: Path, *, today: date | None = None
) -> Path:
    """Gather the county's numbers and write them as PDF or HTML (by the file's suffix)."""
    from zhucun.reports.charts import report_charts
    from zhucun.reports.data import gather_county_report

    check_suffix(out)
    report = gather_county_report(session, county, year, today=today)
    return render_report_file(report, report_charts(report), out)


def check_suffix(out: Path) -> None:
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise ValueError(f"{out}: the report is written as .pdf or .html")


def render_report_file(report: CountyReport, charts: dict[str, bytes], out: Path) -> Path:
    """Write a gathered report (and its rendered charts) as PDF or HTML, by suffix."""
    check_suffix(out)
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        from zhucun.reports.render_pdf import county_report_pdf

        out.write_bytes(county_report_pdf(report, charts))
    else:
        from zhucun.reports.render_html import county_report_html

        out.write_text(county_report_html(report, charts), encoding="utf-8")
    return out
