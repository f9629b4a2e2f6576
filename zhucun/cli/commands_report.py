"""`zhucun report`: the county progress report a county office prints (PDF) or mails
(HTML): counts, sums and charts only, never a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhucun.cli.output import emit_json, fail, say


def report_command(
    county: Annotated[str, typer.Option(help="County code (6 digits)")],
    year: Annotated[int, typer.Option(help="Cycle year")],
    out: Annotated[Path, typer.Option(help="FILE.pdf (A4) or FILE.html (charts inline)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """County progress report (县级驻村帮扶工作进展报告): households by status, exits and
    monitoring by period, causes, measures, funds, teams — with charts."""
    from zhucun.db import session_scope
    from zhucun.reports import check_suffix, write_county_report

    if len(county) != 6 or not county.isdigit():
        fail(f"--county {county!r}: a county code has 6 digits")
    try:
        check_suffix(out)
    except ValueError as exc:
        fail(str(exc))
    with session_scope() as session:
        try:
            written = write_county_report(session, county, year, out)
        except LookupError as exc:
            fail(str(exc))
    if as_json:
        emit_json({"county": county, "year": year, "file": str(written)})
        return
    from zhucun.labels import tr

    say(tr(f"进展报告已写入 {written}", f"report written to {written}"))


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
