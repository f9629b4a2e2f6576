"""`zhucun generate`: a realistic county registry to try zhucun on, in the input format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhucun.cli.output import emit_json, fail


def generate_command(
    county: Annotated[
        str,
        typer.Option(
            "--county",
            help="6-digit code of one of the 832 national poverty counties, e.g. 130624 "
            "(阜平县) or 433124 (花垣县), which come with their real villages.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the CSV files into")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files")] = 1,
    households: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Registered poor households in the county (default: realistic for its "
            "villages, a few thousand). Edge households (边缘易致贫户) come on top.",
        ),
    ] = None,
    ordinary: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Ordinary rural households, never registered (default: a quarter of the poor "
            "households' number), watched by the monitoring against falling back.",
        ),
    ] = None,
    year: Annotated[int, typer.Option(help="Registry year: poverty line and dates")] = 2026,
    cadre_ratio: Annotated[
        float,
        typer.Option(
            "--cadre-ratio",
            min=0.0,
            help="Scale the number of cadres; below 1 leaves villages short of team members.",
        ),
    ] = 1.0,
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            help="zhucun: households + members files; national: one person-level file "
            "家庭成员 with the national system's 32 headers and spellings (import it with "
            "`zhucun import --layout national`). The other files stay in zhucun's layout.",
        ),
    ] = "zhucun",
    xlsx: Annotated[
        bool, typer.Option("--xlsx", help="Write each file as .xlsx (one sheet) instead of CSV")
    ] = False,
    encoding: Annotated[
        str, typer.Option("--encoding", help="CSV encoding: utf-8, utf-8-sig or gb18030")
    ] = "utf-8",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Write villages, households and their members, cadres, officials, relations,
    surveys and monitoring clues of a realistic county (real county, townships and, where
    known, villages; synthetic people with valid ID numbers) into OUT, ready for
    `zhucun import OUT` (the clues for `zhucun monitor clues import`)."""
    from zhucun.generator import UnknownCountyError, generate

    try:
        summary = generate(
            county,
            out,
            seed=seed,
            households=households,
            ordinary=ordinary,
            year=year,
            cadre_ratio=cadre_ratio,
            layout=layout,
            xlsx=xlsx,
            encoding=encoding,
        )
    except (UnknownCountyError, ValueError) as exc:
        fail(str(exc), code=2)
        return
    if as_json:
        emit_json(summary.as_dict())
        return
    from zhucun.cli.output import Col, print_table, say
    from zhucun.labels import tr

    title = tr(
        f"{summary.county_name}（{summary.county_code}），{summary.province}，{summary.year} 年，"
        f"种子 {summary.seed}",
        f"{summary.county_name} ({summary.county_code}), {summary.province}, "
        f"{summary.region}, {summary.year}, seed {summary.seed}",
    )
    rows = [[name, f"{n:,}"] for name, n in summary.rows.items()]
    print_table(title, [Col("file", "id"), Col("rows", "num")], rows)
    say(
        tr(
            f"{summary.townships} 个乡镇、{summary.villages} 个村（贫困村 "
            f"{summary.poor_villages}）；贫困户 {summary.registered_poor_households:,} 户，"
            f"边缘易致贫户 {summary.edge_households:,} 户，一般农户 "
            f"{summary.ordinary_households:,} 户，监测线索 {summary.clues:,} 条；可选派干部 "
            f"{summary.cadres_available:,} 人。用时 {summary.seconds:.1f} 秒。",
            f"{summary.townships} townships, {summary.villages} villages "
            f"({summary.poor_villages} registered poor); "
            f"{summary.registered_poor_households:,} registered poor households, "
            f"{summary.edge_households:,} edge households, "
            f"{summary.ordinary_households:,} ordinary ones, {summary.clues:,} monitoring clues; "
            f"{summary.cadres_available:,} cadres available ({summary.seconds:.1f} s).",
        ),
        wrap=True,
    )
    say(tr(f"写入 {summary.out_dir}", f"written to {summary.out_dir}"))


def register(app: typer.Typer) -> None:
    app.command(
        "generate", help="Generate a realistic county registry (CSV or xlsx files) for trials."
    )(generate_command)
