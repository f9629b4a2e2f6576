"""`zhucun monitor`: clues of the monitoring against falling back into poverty (防止返贫监测).

`report` records a household's own report (农户自主申报), `clues import` a file of sector
alerts (部门筛查预警) or cadres' visit findings (干部走访排查) — all or nothing, each problem
as file:row:column — `clues list` shows the clues with their 15-day clock, overdue first,
and `clues dismiss` closes one with its reason, by someone the policy allows. A clue is
never deleted. Output names no person and shows no note (a report may quote a diagnosis);
villages are shown with their names. `identify …` and `relieve …` are the two procedures
(监测对象识别, 风险消除) on the engine every procedure uses (`commands_procedure.build`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.commands_procedure import Households, On, Year, build, decide_cases
from zhucun.cli.commands_procedure import Json as JsonOption
from zhucun.cli.output import emit_json, err_console, fail, say
from zhucun.labels import tr

monitor_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Monitoring against falling back into poverty (防止返贫监测): clues and their clock, "
    "the identification of monitoring objects and risk elimination (风险消除).",
    no_args_is_help=True,
)
clues_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Clues from self-reports, cadre visits and sector pushes: import, list, dismiss.",
    no_args_is_help=True,
)
monitor_app.add_typer(clues_app, name="clues")

NOTHING_WRITTEN = ("未写入任何线索", "nothing written")


# a rule's column → the option of `monitor report` that set it
OPTIONS = {"reported_on": "--on", "reported_by": "--by", "amount": "--amount"}


def _refused(lines: list[str], as_json: bool, outcome: tuple[str, str] = NOTHING_WRITTEN) -> None:
    """Every refusal on its own line (stderr), then what that means (`outcome`); exit 1."""
    from zhucun.cli.output import clean

    if as_json:
        emit_json({"written": 0, "refused": [clean(x) for x in lines]})
        raise typer.Exit(1)
    for line in lines:
        err_console.print(clean(line), markup=False, highlight=False, soft_wrap=True)
    fail(
        tr(
            f"{len(lines)} 处错误：{NOTHING_WRITTEN[0]}",
            f"{len(lines)} error(s): {NOTHING_WRITTEN[1]}",
        )
    )


def _record(records: list[Any], where: Any, as_json: bool, source: str) -> None:
    """Write all or nothing; `where(index, column, rule)` names a refusal's place."""
    from zhucun.db import session_scope
    from zhucun.tasks.monitoring_clues import record_clues

    with session_scope() as session:
        refusals, counts = record_clues(session, records, source=source)
        if refusals:
            session.rollback()
    if refusals:
        _refused([where(r.index, r.column, r.message) for r in refusals], as_json)
    if as_json:
        emit_json({**counts, "refused": []})
        return
    say(
        tr(
            f"已记录 {counts['written']} 条线索（{counts['unchanged']} 条已有，未变）",
            f"{counts['written']} clue(s) written ({counts['unchanged']} already recorded)",
        )
    )


@monitor_app.command("report")
def report_command(
    household: Annotated[str, typer.Option("--household", help="Household ID (户编号)")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="What happened: medical_bill, dropout, education_cost, disaster, "
            "house_damage, accident, unemployment, industry_failure, income_drop, other",
        ),
    ],
    on: Annotated[str | None, typer.Option("--on", help="Day reported, YYYY-MM-DD")] = None,
    amount: Annotated[
        float | None, typer.Option("--amount", help="Yuan: the bill, the loss (if known)")
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Who took the report (cadre or official ID)")
    ] = "",
    note: Annotated[str, typer.Option("--note", help="What the household said (masked)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Record a household's own report (农户自主申报): the 15-day clock starts."""
    from zhucun.rules.monitoring import ClueRecord
    from zhucun.tasks.review_lock import server_today

    try:
        day = date.fromisoformat(on.strip()) if on else server_today()
    except ValueError:
        fail("--on: not a date YYYY-MM-DD", code=2)
    rec = ClueRecord(household.strip(), "self_report", kind.strip(), day, "", amount, by, note)

    def where(_index: int, column: str, rule: str) -> str:
        return f"{OPTIONS.get(column, '--' + column)}: {rule}"

    _record([rec], where, as_json, "cli")


@clues_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8/GB18030) or .xlsx, one row a clue")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Record a file of sector alerts or visit findings: columns household_id, channel,
    sector, kind, amount_yuan, reported_on, reported_by, note (or 户编号, 渠道, 部门, 线索类型,
    金额, 发现日期, 报告人, 说明). All or nothing."""
    from zhucun.exchange.clues import read_clues

    parsed = read_clues(file)
    if parsed.errors:
        extra = parsed.error_count - len(parsed.errors)
        lines = parsed.errors + ([f"{parsed.label}: ... and {extra} more"] if extra > 0 else [])
        _refused(lines, as_json)
    if not parsed.records:
        fail(f"{parsed.label}:2:*: no clues in the file")
    _record(parsed.records, parsed.refusal, as_json, f"file:{parsed.label}")


def _status_text(r: dict[str, Any]) -> str:
    from zhucun.labels import label

    if r["overdue"]:
        return tr(f"超期{r['overdue_days']}天", f"{r['overdue_days']} d overdue")
    if r["status"] == "open":
        left = -r["overdue_days"]
        return tr(f"待核实·剩{left}天", f"open, {left} d left")
    return label("clue_status", r["status"])


@clues_app.command("list")
def list_command(
    county: Annotated[str | None, typer.Option("--county", help="6-digit county code")] = None,
    village: Annotated[str | None, typer.Option("--village", help="Village code")] = None,
    household: Annotated[str | None, typer.Option("--household", help="Household ID")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open / case / dismissed")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Show every column")] = False,
) -> None:
    """The clues and their clock, overdue first."""
    from zhucun.cli.output import Col, place_names, print_table
    from zhucun.db import session_scope
    from zhucun.labels import label
    from zhucun.tasks.monitoring_clues import list_clues
    from zhucun.tasks.review_lock import server_today

    today = server_today()
    with session_scope() as session:
        rows = list_clues(
            session, today=today, county=county, village=village, household=household,
            status=status,
        )  # fmt: skip
    if as_json:
        emit_json([{k: str(v) if isinstance(v, date) else v for k, v in r.items()} for r in rows])
        return
    places = place_names(r["village_code"] for r in rows)
    overdue = sum(r["overdue"] for r in rows)
    cols = [
        Col("id", "id"),
        Col("household", "id"),
        Col("village", drop=1),  # a higher `drop` leaves first: the village stays longest
        Col("channel", drop=5),
        Col("clue_kind"),
        Col("amount", "num", drop=6),
        Col("reported_on", "id", drop=4),
        Col("due_on", "id", drop=3),
        Col("clue_status"),
        Col("dismissed_by", "id", drop=7),
        Col("reason", drop=8),
    ]
    print_table(
        tr(
            f"监测线索：{len(rows)} 条，超期 {overdue} 条",
            f"Monitoring clues: {len(rows)}, {overdue} overdue",
        ),
        cols,
        [
            [
                r["id"],
                r["household_id"],
                places.get(r["village_code"], r["village_code"]),
                label("clue_sector", r["sector"])
                if r["sector"]
                else label("clue_channel", r["channel"]),
                label("clue_kind", r["kind"]),
                "" if r["amount_yuan"] is None else f"{r['amount_yuan']:,.0f}",
                r["reported_on"],
                r["due_on"],
                _status_text(r),
                r["decided_by"] or "",
                r["reason"] or "",
            ]
            for r in rows
        ],
        wide=wide,
    )


@clues_app.command("dismiss")
def dismiss_command(
    clue: Annotated[int, typer.Argument(help="Clue number (the list's 编号)")],
    by: Annotated[
        str,
        typer.Option("--by", help="Who decides: township reviewer, county approver, team, helper"),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the clue is dismissed")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Dismiss a clue after checking it, with the reason; the clue stays on record."""
    from zhucun.db import session_scope
    from zhucun.tasks.monitoring_clues import dismiss_clue

    with session_scope() as session:
        problems = dismiss_clue(session, clue, by=by, reason=reason)
        if problems:
            session.rollback()
    if problems:
        _refused(
            [f"--{p.column}: {p.message}" for p in problems], as_json, ("未排除", "not dismissed")
        )
    if as_json:
        emit_json({"dismissed": clue})
        return
    say(tr(f"线索 {clue} 已排除", f"clue {clue} dismissed"))


# --- The procedures: identification of a monitoring object, risk elimination (风险消除) ----


def _procedure_apps() -> tuple[typer.Typer, typer.Typer]:
    """`monitor identify …` and `monitor relieve …`: the commands every procedure has (list,
    decide, object), built by the one function the other procedures use, and the consent."""
    identify = build(
        "monitor",
        "Identification of a monitoring object (监测对象识别): 入户核实+承诺授权 ▸ 信息比对 ▸ "
        "民主评议 ▸ 村内公示 (5 days, once) ▸ 乡镇审核 ▸ 县级审定 — the household is a "
        "monitoring object from the county's approval. The monthly run opens the cases.",
    )
    relieve = build(
        "relieve",
        "Risk elimination (风险消除): 入户核实 ▸ 民主评议 ▸ 公示 ▸ 乡镇审核 ▸ 公告 — the case "
        "closes at the announcement. The monthly run opens it when all six conditions hold.",
    )

    @identify.command("consent")
    def consent(
        household: Households,
        by: Annotated[
            str, typer.Option("--by", help="Who of the household signed (户主 or a member)")
        ],
        reviewer: Annotated[str, typer.Option("--reviewer", help="The cadre who visited")],
        on: On = None,
        year: Year = None,
        as_json: JsonOption = False,
    ) -> None:
        """入户核实 and 承诺授权: the household consents to the checks of its information (who
        signed is recorded); a household that refuses is rejected with `decide --decision
        reject`, never signed for."""
        decide_cases("monitor", household, "visit", reviewer, "approve", None, on, year,
                     {"acknowledged_by": by}, as_json)  # fmt: skip

    return identify, relieve


def register(app: typer.Typer) -> None:
    identify, relieve = _procedure_apps()
    monitor_app.add_typer(identify, name="identify")
    monitor_app.add_typer(relieve, name="relieve")
    app.add_typer(monitor_app, name="monitor")
