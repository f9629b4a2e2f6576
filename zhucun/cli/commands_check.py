"""`zhucun check`: the data-quality checks (数据质量核查) of a county's registry.

Findings are warnings: the command exits 0 whatever it finds (scripts read `findings` in
--json). It runs the `data-quality-check` flow, so the same report stays as an artifact.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zhucun.cli.output import console, emit_json, fail


def check_command(
    county: Annotated[
        str | None, typer.Option("--county", help="6-digit county code; default: every county")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, max=1000, help="Rows shown per rule")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Check the registry against the national checklist: causes against the household's
    data, 低保/特困 without the transfer, labour against age and health, poor households
    without a helper, helpers who are themselves poor, the same person twice, heads under
    16, members over 110, monitored households without a development measure. Prints each
    rule's count and first rows; never an ID number, phone or health condition."""
    if county is not None:
        from pydantic import ValidationError

        from tasks.common import Scope

        try:
            county = Scope(county=county).county
        except ValidationError as exc:
            fail("; ".join(e["msg"] for e in exc.errors()), code=2)
        from zhucun.cli.guards import require_county

        require_county(county)
    from flows.quality import data_quality_check

    summary = data_quality_check(county=county, limit=limit)
    if as_json:
        emit_json(summary)
        return
    print_quality(summary)


def print_quality(summary: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from zhucun.cli.output import clean

    scope = summary["county"] or "all counties"
    for r in summary["rules"]:
        title = f"{r['label_zh']} / {r['label_en']} [{r['code']}]: {r['count']}"
        if r.get("skipped"):
            console.print(f"{title} (skipped: {r['skipped']})")
            continue
        if not r["rows"]:
            console.print(title)
            continue
        table = Table(title=title, title_justify="left")
        for col in ("household", "member", "village", "detail"):
            table.add_column(col)
        for row in r["rows"]:
            table.add_row(  # data, not markup
                Text(clean(row["household_id"])),
                Text(clean(row["member_id"] or "")),
                Text(clean(f"{row['village_code']} {row['village_name']}")),
                Text(clean(row["detail"])),
            )
        console.print(table)
        if r["count"] > len(r["rows"]):
            console.print(f"… and {r['count'] - len(r['rows'])} more")
    console.print(
        f"data quality {scope}: {summary['findings']} finding(s) "
        "(warnings; the report is also a Prefect artifact)"
    )


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
