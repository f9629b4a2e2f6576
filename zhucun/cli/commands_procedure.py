"""`zhucun identify …` and `zhucun exit …`: the procedures a county answers for, beside
`zhucun review …`. Both groups are built by one function over the same engine: decisions
go through `tasks.review.decide` (the ledger, conflicts, "nobody decides two stages"),
objections through `file_objection`, windows close with `zhucun review publicity close`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.commands_review import parse_date
from zhucun.cli.output import Col, emit_json, fail, print_table, say
from zhucun.labels import label, place, tr

Households = Annotated[
    list[str], typer.Option("--household", help="Household ID (repeat for several)")
]
Year = Annotated[
    int | None,
    typer.Option(
        help="Cycle year the case was opened in (default: decide, object and list take the "
        "open cases of any year — a December case in January — list adds this year's closed "
        "ones; a new case opens in this year in China)"
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON")]
On = Annotated[
    str | None, typer.Option("--on", help="Decision date YYYY-MM-DD (default: today in China)")
]


def _today() -> date:
    from zhucun.tasks.review_lock import server_today

    return server_today()


def _county(session: Any, county: str | None) -> str:
    from sqlalchemy import select

    from zhucun.models import County
    from zhucun.settings import get_settings

    if county or get_settings().county:
        return str(county or get_settings().county)
    codes = list(session.scalars(select(County.county_code).limit(2)))
    if len(codes) != 1:
        fail("several counties (or none) in the database: give --county")
    return str(codes[0])


def decide_cases(
    procedure: str,
    households: list[str],
    stage: str,
    reviewer: str,
    decision: str,
    reason: str | None,
    on: str | None,
    year: int | None,
    details: dict[str, object] | None,
    as_json: bool,
) -> None:
    """One decision per household at `stage`, judged and recorded like any review."""
    from sqlalchemy import select

    from zhucun.db import session_scope
    from zhucun.models import ProcedureCase
    from zhucun.rules import review as rules
    from zhucun.tasks.procedures import case_years
    from zhucun.tasks.review import ReviewError, decide
    from zhucun.tasks.review_ledger import DecideResult

    decided_on = parse_date(on)
    with session_scope() as session:
        # without --year each household's open case, whatever year it was opened in
        years = (
            dict.fromkeys(households, year) if year else case_years(session, procedure, households)
        )
        missing = [h for h in households if h not in years]
        where = f"in {year} " if year else ""
        villages = set(
            session.scalars(
                select(ProcedureCase.village_code).where(
                    ProcedureCase.procedure == procedure,
                    ProcedureCase.subject_id.in_(households),
                    *([ProcedureCase.cycle_year == year] if year else []),
                )
            )
        )
        if not villages or missing:
            fail(f"no {procedure} case {where}for {', '.join(missing or households)}")
        county = sorted(villages)[0][:6]
        result = DecideResult()
        for cy in sorted(set(years.values())):
            reqs = [
                rules.Request(procedure, h, stage, reviewer, decision, reason, decided_on, details)
                for h in households
                if years[h] == cy
            ]
            try:
                part = decide(session, reqs, cycle_year=cy, channel="cli", county=county)
            except ReviewError as exc:
                fail(str(exc))
            result.outcomes += part.outcomes
            result.applied = result.applied and part.applied
    summaries = [o.summary() for o in result.outcomes]
    if as_json:
        emit_json({**result.counts(), "decisions": summaries})
    else:
        from zhucun.cli.commands_review import print_decisions

        print_decisions(summaries, result.accepted, result.refused, [])
    if result.refused:
        raise typer.Exit(1)


def list_cmd(
    procedure: str, county: str | None, year: int | None, wide: bool, as_json: bool
) -> None:
    from zhucun.db import session_scope
    from zhucun.tasks.procedures import list_cases

    with session_scope() as session:  # no --year: open cases of any year, and this year's
        rows = list_cases(session, _county(session, county), procedure, year, today=_today())
    if as_json:
        emit_json({"procedure": procedure, "cycle_year": year, "cases": rows})
        return
    cy = year or tr("未结及本年", "open and this year")
    cols = [
        Col("household", "id"),
        Col("name", drop=2),
        Col("village", drop=3),
        Col("stage"),
        Col("version", "num", drop=4),
        Col("detail", drop=1),
    ]
    print_table(
        tr(
            f"{label('subject', procedure)}（{cy}）：{len(rows)} 户",
            f"{label('subject', procedure)} ({cy}): {len(rows)}",
        ),
        cols,
        [
            [
                r["subject_id"],
                r["head_name"],
                place(r["village_code"], r["village_name"]),
                r["status_zh"] if tr("zh", "en") == "zh" else r["status"],
                r["version"],
                r["reason"] or "",
            ]
            for r in rows
        ],
        wide=wide,
    )


def object_cmd(
    procedure: str,
    household: str,
    by: str,
    reason: str,
    year: int | None,
    on: str | None,
    as_json: bool,
) -> None:
    from zhucun.db import session_scope
    from zhucun.tasks.procedures import case_years
    from zhucun.tasks.review import ReviewError, file_objection

    try:
        with session_scope() as session:
            # a window open across New Year: the open case's year, unless one is given
            cy = year or case_years(session, procedure, [household]).get(household)
            res = file_objection(
                session,
                subject=procedure,
                subject_id=household,
                cycle_year=cy or _today().year,
                filed_by=by,
                reason=reason,
                filed_on=parse_date(on),
            )
    except ReviewError as exc:
        fail(f"objection not accepted: {exc}")
    if as_json:
        emit_json(res)
    else:
        say(
            tr(
                f"异议已登记：{household} 退回重新评议",
                f"objection recorded: {household} back to appraisal",
            )
        )


def build(procedure: str, help_text: str) -> typer.Typer:
    """The commands every procedure has: list, decide, object."""
    app = typer.Typer(rich_markup_mode="markdown", help=help_text, no_args_is_help=True)

    @app.command("list")
    def _list(
        county: Annotated[str | None, typer.Option(help="County code")] = None,
        year: Year = None,
        wide: Annotated[bool, typer.Option("--wide", help="Show every column")] = False,
        as_json: Json = False,
    ) -> None:
        """Cases and the stage each waits for (names next to codes, no ID numbers)."""
        list_cmd(procedure, county, year, wide, as_json)

    @app.command("decide")
    def _decide(
        stage: Annotated[str, typer.Option("--stage", help="The stage you decide")],
        reviewer: Annotated[str, typer.Option("--reviewer", help="Your cadre ID or person ID")],
        household: Households,
        decision: Annotated[str, typer.Option(help="approve / reject / return")] = "approve",
        reason: Annotated[str | None, typer.Option(help="Required unless approving")] = None,
        representatives: Annotated[
            int | None, typer.Option(help="民主评议: village representatives in all")
        ] = None,
        present: Annotated[
            int | None, typer.Option(help="民主评议: representatives present")
        ] = None,
        in_favour: Annotated[int | None, typer.Option(help="民主评议: in favour")] = None,
        on: On = None,
        year: Year = None,
        as_json: Json = False,
    ) -> None:
        """Decide a stage (民主评议 with its tally: --representatives --present --in-favour);
        reject ends the case with the reason, return sends it back to the appraisal."""
        tally = dict(representatives=representatives, present=present, in_favour=in_favour)
        details = {k: v for k, v in tally.items() if v is not None} or None
        decide_cases(
            procedure, household, stage, reviewer, decision, reason, on, year, details, as_json
        )

    @app.command("object")
    def _object(
        household: Annotated[str, typer.Option(help="Household ID")],
        by: Annotated[str, typer.Option("--by", help="Who objects (a name; no ID number)")],
        reason: Annotated[str, typer.Option(help="What is wrong")],
        year: Year = None,
        on: Annotated[str | None, typer.Option("--on", help="Date filed (default: today)")] = None,
        as_json: Json = False,
    ) -> None:
        """An objection in a publicity window (公示期): the case goes back to the appraisal."""
        object_cmd(procedure, household, by, reason, year, on, as_json)

    return app


identify_app = build(
    "identify",
    "Identification of poor households (识别, 两公示一公告): apply ▸ 民主评议 ▸ 核实 ▸ 公示 ▸ "
    "乡镇审核 ▸ 数据比对 ▸ 公示 ▸ 县审批 ▸ 公告.",
)
exit_app = build(
    "exit",
    "Household exit (脱贫退出): 预退出 ▸ 民主评议 ▸ 核实 ▸ 户认可 ▸ 公示 ▸ 乡镇 ▸ 县 ▸ 公告销号.",
)


@identify_app.command("apply")
def identify_apply(household: Households, year: Year = None, as_json: Json = False) -> None:
    """农户申请: open an identification case for each household (not registered poor)."""
    from zhucun.db import session_scope
    from zhucun.tasks.procedures import apply_identification

    with session_scope() as session:
        res = apply_identification(session, household, cycle_year=year or _today().year)
    if as_json:
        emit_json(res)
    else:
        say(tr(f"受理申请 {res['opened']} 户", f"{res['opened']} application(s) opened"))
        for h, why in res["refused"].items():
            say(f"{h}: {why}", style="red")
    if res["refused"]:
        raise typer.Exit(1)


@identify_app.command("findings")
def identify_findings(
    path: Annotated[Path, typer.Argument(help="Cross-check findings CSV (数据比对结果)")],
    county: Annotated[str | None, typer.Option(help="County code")] = None,
    year: Year = None,
    as_json: Json = False,
) -> None:
    """Import sector findings (household_id, kind, source, found_on, detail) and run the
    cross-check of the cases waiting for it. A bad row: one line, nothing written."""
    from zhucun.db import session_scope
    from zhucun.tasks.procedures import import_findings, open_years, run_automatic
    from zhucun.tasks.review import ReviewError

    if not path.is_file():
        fail(f"{path}: no such file")
    try:
        with session_scope() as session:
            res = import_findings(session, path)
            code = _county(session, county)
            for cy in [year] if year else open_years(session, code) or [_today().year]:
                for k, n in run_automatic(session, code, cy).items():
                    res[k] = res.get(k, 0) + n
    except ReviewError as exc:
        fail(str(exc))
    if as_json:
        emit_json(res)
    else:
        say(
            tr(
                f"比对结果 {res['rows']} 行（新增 {res['added']}）；"
                f"比对 {res['checked']} 户，剔除 {res['excluded']} 户",
                f"{res['rows']} findings ({res['added']} new); {res['checked']} checked, "
                f"{res['excluded']} excluded",
            )
        )


@exit_app.command("propose")
def exit_propose(
    period: Annotated[str, typer.Option(help="The evaluation's month YYYY-MM (预退出 list)")],
    county: Annotated[str | None, typer.Option(help="County code")] = None,
    as_json: Json = False,
) -> None:
    """Open an exit case for each household the evaluation proposed (预退出); re-running
    opens none twice."""
    import re

    from zhucun.db import session_scope
    from zhucun.tasks.procedures import propose_exits

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        fail(f"--period {period}: a month YYYY-MM (the evaluation's period)")
    with session_scope() as session:
        res = propose_exits(session, _county(session, county), period)
    if as_json:
        emit_json(res)
    else:
        say(
            tr(
                f"预退出 {res['proposed']} 户，新开退出程序 {res['opened']} 户",
                f"{res['proposed']} proposed, {res['opened']} exit case(s) opened",
            )
        )


@exit_app.command("acknowledge")
def exit_acknowledge(
    household: Annotated[str, typer.Option(help="Household ID")],
    by: Annotated[str, typer.Option("--by", help="Who of the household signed (户主 or a member)")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="The team member recording it")],
    on: On = None,
    year: Year = None,
    as_json: Json = False,
) -> None:
    """户认可: the household acknowledges its exit (who and when are recorded)."""
    decide_cases(
        "exit",
        [household],
        "acknowledge",
        reviewer,
        "approve",
        None,
        on,
        year,
        {"acknowledged_by": by},
        as_json,
    )


@exit_app.command("announce")
def exit_announce(
    household: Households,
    reviewer: Annotated[str, typer.Option("--reviewer", help="The county official announcing")],
    on: On = None,
    year: Year = None,
    as_json: Json = False,
) -> None:
    """公告退出 and 销号: the household's status changes to exited here, not earlier."""
    decide_cases("exit", household, "announce", reviewer, "approve", None, on, year, None, as_json)


_RATE_WORDS = {
    "incidence": ("综合贫困发生率", "poverty incidence"),
    "wrong_exit": ("错退率", "wrong exit rate"),
    "missed": ("漏评率", "missed rate"),
    "approval": ("群众认可度", "public approval"),
}
_OPS = {"<": "<", "<=": "≤", ">=": "≥"}


@exit_app.command("check")
def exit_check(
    path: Annotated[Path, typer.Argument(help="Sample-check CSV (第三方评估 / 省级核查抽查)")],
    county: Annotated[str | None, typer.Option(help="County code")] = None,
    year: Year = None,
    as_json: Json = False,
) -> None:
    """贫困县退出 三率一度: the four rates of a sample check against the policy's limits.
    Reads the file and the database, writes nothing; exit code 1 when the county fails."""
    from zhucun.db import session_scope
    from zhucun.models import County
    from zhucun.policy import load_policy
    from zhucun.rules.county_exit import check_county_exit
    from zhucun.tasks.county_exit import SampleFileError, county_incidence_counts, read_sample

    if not path.is_file():
        fail(f"{path}: no such file")
    try:
        counts = read_sample(path)
    except SampleFileError as exc:
        fail(str(exc))
    cy = year or _today().year
    with session_scope() as session:
        code = _county(session, county)
        row = session.get(County, code)
        if row is None:
            fail(f"no county {code} in the database")
        policy = load_policy(session, cy, row.region, code[:2])
        poor, rural = county_incidence_counts(session, code)
        name = row.name
    if not policy.county_exit_thresholds:
        fail(f"no county exit thresholds in the policy for {cy}: run `zhucun db upgrade`")
    res = check_county_exit(counts, poor, rural, policy.county_exit_thresholds)
    if as_json:
        emit_json({"county": code, "year": cy, "counts": counts.model_dump()} | res.model_dump())
    else:
        ok, no = tr("通过", "pass"), tr("未通过", "fail")
        rows = [
            [
                tr(*_RATE_WORDS[r.name]),
                f"{r.rate * 100:.2f}%" if r.rate is not None else tr("未抽查", "not sampled"),
                f"{_OPS[r.comparison]} {r.threshold * 100:.0f}%",
                ok if r.passed else no,
            ]
            for r in res.rates
        ]
        cols = [Col(tr("指标", "rate")), Col(tr("比率", "value"), "num"),
                Col(tr("标准", "limit"), "num"), Col(tr("结果", "result"))]  # fmt: skip
        print_table(tr(f"贫困县退出检查（三率一度）{place(code, name)} {cy}",
                       f"County exit check {place(code, name)} {cy}"), cols, rows)  # fmt: skip
        say(tr(f"结论：{ok if res.passed else no}", f"result: {ok if res.passed else no}"),
            style=None if res.passed else "red")  # fmt: skip
    if not res.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(identify_app, name="identify")
    app.add_typer(exit_app, name="exit")
