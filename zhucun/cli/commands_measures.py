"""`zhucun measures`: the delivery (落实) of the measures of approved strategies.

`deliver` records one state change, `import` a file of them (CSV or .xlsx, one row per
record, all or nothing, each refusal as file:row:column), `list` shows what stands. Who
records must be the household's helper or a member of the village's active team; notes are
stored masked. Exit proposals and risk elimination read only delivered measures."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.output import emit_json, fail, say
from zhucun.labels import tr

measures_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Delivery of household measures (措施落实): record, import, list.",
    no_args_is_help=True,
)

# File columns (English or Chinese headers) → record field.
FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "household": ("household", "household_id", "户编号"),
    "year": ("year", "cycle_year", "年度"),
    "measure": ("measure", "措施"),
    "state": ("state", "状态"),
    "on": ("on", "date", "日期"),
    "spent": ("spent", "spent_yuan", "实际支出"),
    "by": ("by", "recorded_by", "记录人"),
    "note": ("note", "佐证", "说明"),
}
REQUIRED = ("household", "year", "measure", "state", "on", "by")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"not a date YYYY-MM-DD: {value}") from exc


def _money(value: str) -> float | None:
    value = value.strip().replace(",", "")
    if not value:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"not an amount: {value}") from exc


def _write(records: list[Any], labels: list[str], as_json: bool) -> None:
    """Record all or nothing; refusals name where (a label per record)."""
    from zhucun.db import session_scope
    from zhucun.privacy import mask_text
    from zhucun.tasks.delivery import record

    with session_scope() as session:
        refusals = record(session, records, source="file" if len(labels) > 1 else "cli")
        if refusals:
            session.rollback()
    if refusals:
        lines = [f"{labels[r.index]}:{r.column}: {mask_text(r.message)}" for r in refusals]
        if as_json:
            emit_json({"written": 0, "refused": lines})
            raise typer.Exit(1)
        fail("\n".join(lines) + "\n" + tr("未写入任何记录", "nothing written"))
    if as_json:
        emit_json({"written": len(records), "refused": []})
        return
    say(tr(f"已记录 {len(records)} 条措施落实", f"{len(records)} delivery record(s) written"))


@measures_app.command("deliver")
def deliver_command(
    household: Annotated[str, typer.Option("--household", help="Household ID")],
    year: Annotated[int, typer.Option("--year", help="Cycle year of the strategy")],
    measure: Annotated[str, typer.Option("--measure", help="Measure code, e.g. industry")],
    state: Annotated[str, typer.Option("--state", help="in_delivery / delivered / not_delivered")],
    by: Annotated[str, typer.Option("--by", help="Cadre ID: the helper or a team member")],
    on: Annotated[str | None, typer.Option("--on", help="Date YYYY-MM-DD; default today")] = None,
    spent: Annotated[
        float | None, typer.Option("--spent", help="Yuan actually spent (needed when delivered)")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Evidence (stored masked)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Record one delivery state of one measure of an approved strategy."""
    from zhucun.rules.delivery import DeliveryRecord
    from zhucun.tasks.review_lock import server_today

    try:
        day = _date(on) if on else server_today()
    except ValueError as exc:
        fail(str(exc), code=2)
    rec = DeliveryRecord(
        household.strip(), year, measure.strip(), state.strip(), day, spent, by, note
    )
    _write([rec], ["--"], as_json)


@measures_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8/GB18030) or .xlsx, one row a record")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Record a file of deliveries: columns household, year, measure, state, on, spent, by,
    note (or 户编号, 年度, 措施, 状态, 日期, 实际支出, 记录人, 佐证). All or nothing."""
    from zhucun.exchange.sources import SourceError, open_table
    from zhucun.rules.delivery import DeliveryRecord

    name = file.name
    try:
        src = open_table(file)
        header = src.read_header() or []
        where = {}
        for field, names in FILE_COLUMNS.items():
            for i, h in enumerate(header):
                if h.strip().lower() in names:
                    where[field] = i
        missing = [f for f in REQUIRED if f not in where]
        if missing:
            fail(f"{name}:1:{missing[0]}: missing column ({', '.join(missing)})")
        records, labels, errors = [], [], []
        for line, cells in src.rows():

            def cell(field: str, cells: list[str] = cells) -> str:
                i = where.get(field)
                return cells[i].strip() if i is not None and i < len(cells) else ""

            try:
                col = "year"
                year = int(cell("year"))
                col = "on"
                day = _date(cell("on"))
                col = "spent"
                spent = _money(cell("spent"))
            except ValueError as exc:
                errors.append(f"{name}:{line}:{col}: {exc}")
                continue
            records.append(
                DeliveryRecord(
                    cell("household"),
                    year,
                    cell("measure"),
                    cell("state"),
                    day,
                    spent,
                    cell("by"),
                    cell("note"),
                )
            )
            labels.append(f"{name}:{line}")
    except SourceError as exc:
        fail(f"{name}:{exc.line}:*: {exc.rule}")
    if errors:
        fail("\n".join(errors) + "\n" + tr("未写入任何记录", "nothing written"))
    if not records:
        fail(f"{name}: no records")
    _write(records, labels, as_json)


@measures_app.command("list")
def list_command(
    year: Annotated[int, typer.Option("--year", help="Cycle year")],
    county: Annotated[str | None, typer.Option("--county", help="6-digit county code")] = None,
    village: Annotated[str | None, typer.Option("--village", help="Village code")] = None,
    household: Annotated[str | None, typer.Option("--household", help="Household ID")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Show every column")] = False,
) -> None:
    """The measures of approved strategies and where each stands."""
    from zhucun.cli.output import Col, print_table
    from zhucun.db import session_scope
    from zhucun.labels import label
    from zhucun.tasks.delivery import list_deliveries

    with session_scope() as session:
        rows = list_deliveries(session, year, county=county, village=village, household=household)
    if as_json:
        emit_json([{k: str(v) if isinstance(v, date) else v for k, v in r.items()} for r in rows])
        return
    cols = [
        Col("household", "id"),
        Col("measure"),
        Col("state"),
        Col("on", drop=2),
        Col("spent", "num", drop=1),
        Col("by", "id", drop=3),
    ]
    print_table(
        tr(f"措施落实（{year}）：{len(rows)} 项", f"Measure delivery ({year}): {len(rows)}"),
        cols,
        [
            [
                r["household_id"],
                label("measure", r["measure"]),
                r["state"],
                r["state_on"] or "",
                "" if r["spent_yuan"] is None else f"{r['spent_yuan']:.0f}",
                r["recorded_by"] or "",
            ]
            for r in rows
        ],
        wide=wide,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(measures_app, name="measures")
