"""`zhucun demo`: the whole job on a generated county, told as a tour.

A new county operator runs this first, so what it prints is what they learn zhucun is:
one row per stage saying what it did, the review's outcome in plain lines, and where to
look next (the UI, the export folder, the report file, the commands to try). Its own
module because commands_cycle holds the per-stage printing it reuses.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.commands_cycle import (
    JsonOpt,
    _scope,
    describe_stage,
    evaluation_line,
)
from zhucun.cli.demo_steps import demo_deliveries, demo_procedures
from zhucun.cli.output import Col, emit_json, fail, print_table, say

SHOWN = 5  # waiting items and refusal reasons listed one by one; the rest counted


def demo_command(
    county: Annotated[str, typer.Option("--county", help="A national poverty county")] = "522626",
    households: Annotated[
        int, typer.Option("--households", min=1, help="Registered poor households")
    ] = 2000,
    year: Annotated[int, typer.Option("--year", help="Cycle year")] = 2026,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """The whole job on a generated county: generate its registry into the data directory,
    create the database, import, run the assistance cycle (dispatch, analysis, causes,
    plans, strategies), review it from drafted meeting minutes, evaluate the surveys'
    latest month, write an export and the county report, and say where to look next."""
    from zhucun.cli.guards import mark_demo, refuse_foreign_data
    from zhucun.labels import tr
    from zhucun.settings import get_settings

    scope = _scope(county)
    refuse_foreign_data()
    data_dir = get_settings().data_dir
    out = data_dir / "demo" / f"{scope.county}-{households}-{seed}"
    steps: dict[str, Any] = {}
    t0 = time.perf_counter()
    step = (lambda zh, en: None) if as_json else (lambda zh, en: say(tr(zh, en), style="dim"))

    from zhucun.generator import UnknownCountyError, generate

    try:
        gen = generate(scope.county, out, seed=seed, households=households, year=year)
    except (UnknownCountyError, ValueError) as exc:
        fail(str(exc), code=2)
        return
    steps["generate"] = {"folder": str(out), "rows": dict(gen.rows)}
    step(
        f"[1/6] 已生成 {gen.county_name}（{scope.county}）登记数据：{out}",
        f"[1/6] generated {gen.county_name} ({scope.county}) into {out}",
    )

    from zhucun.migrate import upgrade

    upgrade()
    mark_demo(scope.county)  # before the import: the county is demo data from here on
    from zhucun.exchange.importer import ImportError_, import_folder

    try:
        imported = import_folder(out)
    except ImportError_ as exc:
        fail(f"import failed: {exc}")
        return
    if not imported.ok:
        fail("import failed: " + "; ".join(imported.errors[:5]))
    steps["import"] = imported.as_dict()
    step("[2/6] 已导入，全部通过校验", "[2/6] imported, every row valid")

    from zhucun.flows.cycle import assistance_cycle
    from zhucun.flows.evaluation import evaluate_progress

    cycle = assistance_cycle(county=scope.county, cycle_year=year)
    steps["cycle"] = cycle
    step("[3/6] 帮扶周期已完成，审核已开启", "[3/6] assistance cycle done, review opened")
    steps["review"] = demo_review(scope.county, year, out / "decisions.csv")
    step("[4/6] 已按会议纪要审核", "[4/6] reviewed from the meeting minutes")
    steps["delivery"] = demo_deliveries(scope.county, year)
    period = latest_survey_period(scope.county)
    if period is not None:
        steps["evaluation"] = evaluate_progress(county=scope.county, period=period)
        steps["procedures"] = demo_procedures(scope.county, period, out)
    step("[5/6] 成效评估已完成，退出程序走完", "[5/6] progress evaluated, exits announced")
    steps["export"] = demo_export(scope.county, data_dir / "export" / scope.county)
    steps["report"] = demo_report(scope.county, year, data_dir / "reports")
    step("[6/6] 已写出导出文件和进展报告", "[6/6] export and report written")
    steps["seconds"] = round(time.perf_counter() - t0, 1)
    if as_json:
        emit_json(steps)
        return
    print_tour(scope.county, year, gen, steps)


def print_tour(county: str, year: int, gen: Any, steps: dict[str, Any]) -> None:
    """The stages, the review's outcome, then the next steps: in the operator's words."""
    from zhucun.labels import label, tr, zh_period

    imp = steps["import"]
    rows = [
        [
            label("cycle_stage", "generate"),
            tr(
                f"{gen.townships} 个乡镇、{gen.villages} 个村（贫困村 {gen.poor_villages}），"
                f"贫困户 {gen.registered_poor_households:,} 户、边缘户 {gen.edge_households:,}"
                f" 户，可选派干部 {gen.cadres_available:,} 人",
                f"{gen.townships} townships, {gen.villages} villages ({gen.poor_villages} "
                f"poor), {gen.registered_poor_households:,} poor and {gen.edge_households:,} "
                f"edge households, {gen.cadres_available:,} cadres",
            ),
        ],
        [
            label("cycle_stage", "import"),
            tr(
                f"{sum(t['rows'] for t in imp['tables']):,} 行全部通过校验并写入，"
                f"警告 {imp['warning_count']:,} 条",
                f"{sum(t['rows'] for t in imp['tables']):,} rows checked and written, "
                f"{imp['warning_count']:,} warnings",
            ),
        ],
    ]
    stages = steps["cycle"]["stages"]
    rows += [
        [label("cycle_stage", n), describe_stage(n, d or {})]
        for n, d in stages.items()
        if n != "review"
    ]
    r = steps["review"]
    rows.append(
        [
            label("cycle_stage", "review"),
            tr(
                f"按会议纪要决定 {r['decisions']:,} 项：受理 {r['accepted']:,}，"
                f"不予受理 {r['refused']:,}",
                f"{r['decisions']:,} decisions from the minutes: {r['accepted']:,} accepted, "
                f"{r['refused']:,} refused",
            ),
        ]
    )
    ev = steps.get("evaluation")
    if ev:
        o = ev["outcomes"]
        rows.append(
            [
                label("cycle_stage", "evaluation"),
                tr(
                    f"{zh_period(ev['period'])}：拟脱贫 {o.get('exit', 0):,} 户，"
                    f"未达标 {o.get('remain', 0):,}，有返贫风险 {o.get('monitor', 0):,}，"
                    f"返贫 {o.get('relapse', 0):,}；",
                    f"{ev['period']}: {o.get('exit', 0):,} proposed to exit, "
                    f"{o.get('remain', 0):,} remain, {o.get('monitor', 0):,} at risk, "
                    f"{o.get('relapse', 0):,} relapsed; ",
                )
                + evaluation_line(ev),
            ]
        )
    pr = steps.get("procedures")
    if pr:
        rows.append(
            [
                tr("退出程序", "exit procedures"),
                tr(
                    f"预退出 {pr['opened']:,} 户经民主评议、核实、户认可、公示、乡县审定："
                    f"公告退出 {pr['exited']:,} 户，未通过 {pr['refused']:,}，"
                    f"待定 {pr['waiting']:,}；贫困村公告退出 {pr['villages_exited']}"
                    f"/{pr['villages_opened']} 个",
                    f"{pr['opened']:,} proposed exits through appraisal, verification, the "
                    f"household's acknowledgement, publicity and review: {pr['exited']:,} "
                    f"announced, {pr['refused']:,} refused, {pr['waiting']:,} waiting; "
                    f"villages announced {pr['villages_exited']}/{pr['villages_opened']}",
                ),
            ]
        )
    title = tr(
        f"演示：{gen.county_name}（{county}）{year} 年度",
        f"Demo: {gen.county_name} ({county}) {year}",
    )
    print_table(title, [Col("stage"), Col("result")], rows)
    for line in review_lines(r):
        say(line)
    for line in next_steps(county, year, steps):
        say(line)


def review_lines(r: dict[str, Any]) -> list[str]:
    """The review's outcome, one line per fact: never "waiting" and "applied" together."""
    from zhucun.labels import label, tr

    def by_status(counts: dict[str, int]) -> str:
        return "，".join(f"{label('review_status', k)} {v:,}" for k, v in sorted(counts.items()))

    lines = [tr("审核结果：", "Review:")]
    for subject, key in (("strategy", "strategies"), ("plan", "plans")):
        counts = r.get(key) or {}
        lines.append(
            f"  {label('subject', subject)} {sum(counts.values()):,}"
            + tr(" 项：", ": ")
            + (by_status(counts) or "—")
        )
    lines.append(
        tr(
            f"  进入公示期 {r['publicity_open']:,} 项（公示期满无异议即为最终结果）",
            f"  {r['publicity_open']:,} in their publicity window (final if nobody objects)",
        )
    )
    for reason, n in r["refusals"][:SHOWN]:
        lines.append(tr(f"  不予受理 {n:,} 项：{reason}", f"  refused {n:,}: {reason}"))
    waiting = r["waiting"]
    if waiting:
        from zhucun.cli.output import place_names

        places = place_names(w["village"] for w in waiting[:SHOWN])
        lines.append(tr(f"  仍待审核 {len(waiting):,} 项：", f"  still waiting: {len(waiting):,}"))
    nobody = tr(
        "会议纪要中无人可签（回避或无权），待有权审核人决定",
        "nobody in the minutes may sign it (conflict of interest or no right)",
    )
    for w in waiting[:SHOWN]:
        where = places.get(w["village"], w["village"])
        stage = label("review_stage", w["stage"]) + tr("环节", " stage")
        lines.append(f"    {w['subject_id']} {where} {stage}{tr('：', ': ')}{w['why'] or nobody}")
    if len(waiting) > SHOWN:
        lines.append(tr("    …（zhucun review list 查看全部）", "    … (zhucun review list)"))
    return lines


def next_steps(county: str, year: int, steps: dict[str, Any]) -> list[str]:
    """Where to look next: the UI, the files written, the commands to try."""
    from zhucun.labels import tr
    from zhucun.settings import Settings, get_settings

    settings = get_settings()
    default_dir = Settings.model_fields["data_dir"].default.expanduser().resolve()
    z = "zhucun" if settings.data_dir == default_dir else f"zhucun --data-dir {settings.data_dir}"
    exp, rep = steps["export"], steps["report"]
    period = (steps.get("evaluation") or {}).get("period", f"{year}-12")
    lines = [
        tr("下一步：", "Next:"),
        tr(
            f"  在浏览器中查看：{z} up，然后打开 http://127.0.0.1:{settings.server_port}",
            f"  the UI: {z} up, then open http://127.0.0.1:{settings.server_port}",
        ),
    ]
    if exp.get("error"):
        lines.append(tr(f"  导出未完成：{exp['error']}", f"  export not written: {exp['error']}"))
    else:
        lines.append(
            tr(f"  导出文件（CSV，英文代码表头）：{exp['folder']}", f"  export: {exp['folder']}")
        )
        lines.append(
            tr(f"  中文表头的工作簿：{exp['xlsx']}", f"  workbook, Chinese headers: {exp['xlsx']}")
        )
    if rep.get("error"):
        lines.append(
            tr(f"  进展报告未生成：{rep['error']}", f"  report not written: {rep['error']}")
        )
    else:
        lines.append(tr(f"  进展报告：{rep['file']}", f"  report: {rep['file']}"))
    lines += [
        tr("  接着试试：", "  then try:"),
        f"    {z} review list --county {county}",
        f"    {z} check --county {county}",
        f"    {z} evaluate --county {county} --period {period}",
        f"    {z} report --county {county} --year {year} --out report.html",
        tr(
            f"  用时 {steps['seconds']} 秒；数据目录 {settings.data_dir}",
            f"  done in {steps['seconds']} s; data directory {settings.data_dir}",
        ),
    ]
    return lines


def demo_export(county: str, folder: Path) -> dict[str, Any]:
    """The county's output files, as `zhucun export` writes them; a failure is one line."""
    from zhucun.exchange.exporter import export_folder

    xlsx = folder / f"zhucun-{county}.xlsx"
    try:
        files = export_folder(folder, county=county, xlsx=xlsx)
    except Exception as exc:  # noqa: BLE001 - the demo's job is done; say why and go on
        return {"folder": str(folder), "error": f"{type(exc).__name__}: {exc}"}
    return {"folder": str(folder), "xlsx": str(xlsx), "files": files}


def demo_report(county: str, year: int, folder: Path) -> dict[str, Any]:
    """The county progress report (PDF), as `zhucun report` writes it; a failure (no CJK
    font, no reportlab) is one line, not the end of the demo."""
    from zhucun.db import session_scope
    from zhucun.reports import write_county_report

    out = folder / f"county-report-{county}-{year}.pdf"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with session_scope() as session:
            written = write_county_report(session, county, year, out)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        first = (str(exc).strip().splitlines() or [""])[0]
        return {"file": None, "error": f"{type(exc).__name__}: {first}"}
    return {"file": str(written)}


def demo_review(county: str, year: int, minutes: Path) -> dict[str, Any]:
    """The review meeting of the demo: draft minutes approving what waits (each stage signed
    by someone allowed to sign it), then run the review stage with them, unattended; then
    read back what the ledger and the items say happened."""
    from datetime import date

    from sqlalchemy import func, select

    from zhucun.db import session_scope
    from zhucun.flows.review import review_cycle
    from zhucun.models import Decision, Plan, Publicity, ReviewEscalation, ReviewState, Strategy
    from zhucun.tasks.review_minutes import draft_minutes, write_minutes

    with session_scope() as session:
        rows = draft_minutes(session, county=county, cycle_year=year, decided_on=date.today())
    write_minutes(rows, minutes)
    ran = review_cycle(county=county, cycle_year=year, decisions_file=str(minutes))
    like = f"{county}%"
    with session_scope() as session:
        counts = {
            name: dict(
                session.execute(
                    select(model.status, func.count())
                    .where(model.cycle_year == year, model.village_code.like(like))
                    .group_by(model.status)
                ).all()
            )
            for name, model in (("strategies", Strategy), ("plans", Plan))
        }
        refusals = session.execute(
            select(Decision.refusal_reason, func.count())
            .where(
                Decision.cycle_year == year,
                Decision.village_code.like(like),
                Decision.outcome == "refused",
            )
            .group_by(Decision.refusal_reason)
            .order_by(func.count().desc())
        ).all()
        waiting = session.execute(
            select(
                ReviewState.subject_id,
                ReviewState.village_code,
                ReviewState.stage,
                ReviewEscalation.reason,
            )
            .outerjoin(
                ReviewEscalation,
                (ReviewEscalation.subject == ReviewState.subject)
                & (ReviewEscalation.subject_id == ReviewState.subject_id)
                & (ReviewEscalation.cycle_year == ReviewState.cycle_year)
                & (ReviewEscalation.stage == ReviewState.stage),
            )
            .where(
                ReviewState.cycle_year == year,
                ReviewState.village_code.like(like),
                ReviewState.stage.is_not(None),
            )
            .order_by(ReviewState.village_code, ReviewState.subject_id)
        ).all()
        publicity_open = session.scalar(
            select(func.count()).where(
                Publicity.cycle_year == year,
                Publicity.village_code.like(like),
                Publicity.status == "open",
            )
        )
    return {
        "minutes": str(minutes),
        "decisions": len(rows),
        "accepted": int(ran.get("file_accepted", 0)),
        "skipped": int(ran.get("file_skipped", 0)),
        "refused": sum(n for _, n in refusals),
        "refusals": [(reason or "", int(n)) for reason, n in refusals],
        "waiting": [
            {"subject_id": s, "village": v, "stage": st, "why": why} for s, v, st, why in waiting
        ],
        "publicity_open": int(publicity_open or 0),
        **counts,
    }


def latest_survey_period(county: str) -> str | None:
    """The month of the county's latest survey (the demo evaluates the data it has)."""
    from sqlalchemy import func, select

    from zhucun.db import session_scope
    from zhucun.models import Household, Survey

    with session_scope() as session:
        latest = session.execute(
            select(func.max(Survey.survey_date))
            .join(Household, Household.household_id == Survey.household_id)
            .where(Household.village_code.like(f"{county}%"))
        ).scalar()
    return f"{latest:%Y-%m}" if latest else None
