"""`zhucun import DIR` and `zhucun export DIR`: the registry in, the results out."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from zhucun.cli.output import Col, emit_json, err_console, fail, note, print_table
from zhucun.labels import tr

if TYPE_CHECKING:
    from zhucun.exchange.importer import ImportResult

SHOWN_ERRORS = 50
SHOWN_WARNINGS = 10  # all of them are in --json


class RichProgress:
    """A progress bar per file on a terminal (stderr)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]:>10,} rows"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self._task: int | None = None
        self._progress.start()

    def start(self, label: str, total_bytes: int) -> None:
        self._task = self._progress.add_task(label, total=total_bytes, rows=0)

    def update(self, done_bytes: int, rows: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=done_bytes, rows=rows)

    def finish(self, rows: int) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, completed=task.total, rows=rows)
            self._task = None

    def stop(self) -> None:
        self._progress.stop()


class PlainProgress:
    """One line per file and every 100,000 rows, for logs and pipes."""

    def __init__(self) -> None:
        self._label = ""
        self._started = 0.0
        self._last = 0

    def start(self, label: str, total_bytes: int) -> None:
        self._label, self._started, self._last = label, time.monotonic(), 0
        print(f"{label} ({total_bytes:,} bytes)", file=sys.stderr, flush=True)

    def update(self, done_bytes: int, rows: int) -> None:
        if rows - self._last >= 100_000:
            self._last = rows
            print(f"{self._label}: {rows:,} rows", file=sys.stderr, flush=True)

    def finish(self, rows: int) -> None:
        took = time.monotonic() - self._started
        print(f"{self._label}: {rows:,} rows in {took:.1f} s", file=sys.stderr, flush=True)

    def stop(self) -> None:
        pass


def _progress(enabled: bool) -> RichProgress | PlainProgress | None:
    if not enabled:
        return None
    return RichProgress() if sys.stderr.isatty() else PlainProgress()


def import_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder with villages.csv, households.csv, cadres.csv, ...")
    ],
    ignore_unknown_columns: Annotated[
        bool,
        typer.Option("--ignore-unknown-columns", help="Skip columns the format does not know."),
    ] = False,
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            help="zhucun (one file per table) or national (the national system's "
            "person-level export, one row per family member)",
        ),
    ] = "zhucun",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Show every column, however wide")] = False,
) -> None:
    """Import a county's registry folder (the files described in docs/data-format.md).

    Each file may be CSV in UTF-8, UTF-8 with BOM or GB18030/GBK (detected), or .xlsx: one
    workbook per file, or one workbook with a sheet per file (named households or 贫困户,
    ...). Every file or sheet not used is named in a note. Every row is checked first; if
    any is wrong, all problems are listed as file:row:column: rule (file[sheet] for a
    workbook) and nothing is written. A valid folder is written in one transaction;
    importing the same folder again changes nothing."""
    from sqlalchemy.exc import SQLAlchemyError

    from zhucun.exchange.importer import ImportError_, import_folder
    from zhucun.exchange.national import import_national

    if layout not in ("zhucun", "national"):
        fail(f"--layout {layout}: must be zhucun or national", code=2)
        return
    run = import_national if layout == "national" else import_folder
    progress = _progress(not as_json)
    try:
        result = run(folder, ignore_unknown_columns=ignore_unknown_columns, progress=progress)
    except ImportError_ as exc:
        fail(str(exc), code=2)
        return
    except SQLAlchemyError as exc:
        # the driver's message only: the statement's parameters would show personal data
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
        fail(f"database error, nothing was imported: {reason}")
        return
    finally:
        if progress is not None:
            progress.stop()
    if as_json:
        emit_json(result.as_dict())
        if not result.ok:
            raise typer.Exit(1)
        return
    for line in result.notes:
        note(line)
    if not result.ok:
        for line in result.errors[:SHOWN_ERRORS]:
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        rest = result.error_count - min(len(result.errors), SHOWN_ERRORS)
        if rest > 0:
            err_console.print(tr(f"… 另有 {rest:,} 处", f"... and {rest:,} more"), markup=False)
        err_console.print(
            Text(
                tr(
                    f"{result.error_count:,} 处错误：未导入任何数据。",
                    f"{result.error_count:,} error(s): nothing was imported.",
                ),
                style="bold red",
            )
        )
        raise typer.Exit(1)
    _print_summary(result, wide)


def _print_summary(result: ImportResult, wide: bool = False) -> None:
    """Counts per file and table; at 80 columns the unchanged and warning counts give way
    (--wide shows them), the file and table names are never cut."""
    cols = [
        Col("file", "id"),
        Col("table", "id"),
        Col("rows", "num"),
        Col("inserted", "num"),
        Col("updated", "num", drop=2),
        Col("unchanged", "num", drop=3),
        Col("warnings", "num", drop=1),
    ]
    rows = [
        [t.file, t.table, *(f"{n:,}" for n in (t.rows, t.inserted, t.updated, t.unchanged))]
        + [f"{t.warnings:,}"]
        for t in result.tables
    ]
    print_table(tr("zhucun import 导入结果", "zhucun import"), cols, rows, wide=wide)
    warnings = result.warnings
    for line in warnings[:SHOWN_WARNINGS]:
        note(line, kind="warning")
    rest = result.warning_count - min(len(warnings), SHOWN_WARNINGS)
    if rest > 0:
        err_console.print(
            tr(f"… 另有 {rest:,} 条警告（--json 列出全部）", f"... and {rest:,} more warnings"),
            markup=False,
        )


def export_command(
    folder: Annotated[Path, typer.Argument(help="Folder to write the output files into")],
    county: Annotated[
        str | None, typer.Option("--county", help="Only this county (6-digit code)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding",
            help="CSV encoding: utf-8-sig (default, with a BOM, so Excel opens it), utf-8, "
            "or gb18030 for older Chinese Excel",
        ),
    ] = "utf-8-sig",
    xlsx: Annotated[
        Path | None,
        typer.Option(
            "--xlsx",
            help="Also write one workbook: a sheet per file, Chinese headers, IDs as text",
        ),
    ] = None,
) -> None:
    """Write every output file (teams.csv, strategies.csv, audit.csv, ...), each with its
    header even when empty. ID numbers are never written. CSV headers stay the contract's
    English codes whatever ZHUCUN_LANG says: machines read them, and a code does not change
    with the reader's language; the --xlsx workbook, for people, has Chinese ones."""
    from zhucun.exchange.exporter import ENCODINGS, ExportError, export_folder

    if county is not None and not (len(county) == 6 and county.isdigit()):
        fail(f"--county must be a 6-digit county code, got {county!r}", code=2)
    if encoding.lower() not in ENCODINGS:
        fail(f"--encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}", code=2)
    from zhucun.cli.guards import require_county, require_writable

    if folder.exists() and not folder.is_dir():
        fail(f"cannot write into {folder}: it is a file, not a folder", code=2)
    if xlsx is not None:
        require_writable(xlsx, "workbook")
    if county is not None:
        require_county(county)
    try:
        counts = export_folder(folder, county=county, encoding=encoding.lower(), xlsx=xlsx)
    except ExportError as exc:
        fail(str(exc), code=2)
        return
    except OSError as exc:
        fail(f"cannot write {exc.filename or folder}: {exc.strerror or exc}", code=2)
        return
    if as_json:
        emit_json(
            {
                "folder": str(folder),
                "county": county,
                "encoding": encoding.lower(),
                "xlsx": str(xlsx) if xlsx is not None else None,
                "files": counts,
            }
        )
        return
    rows = [[name, f"{n:,}"] for name, n in counts.items()]
    title = tr(f"zhucun export 导出 → {folder}", f"zhucun export → {folder}")
    print_table(title, [Col("file", "id"), Col("rows", "num")], rows)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
