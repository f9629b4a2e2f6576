"""Output helpers shared by commands: rich tables for people, JSON for scripts.

Tables fit the terminal (`print_table`): an ID or a code is never cut (no_wrap, a minimum
width of its longest value), text wraps, and at a narrow width the least important columns
are dropped with a note naming them and `--wide` to show all. The consoles are created at
import but read their width at each print (COLUMNS, else the terminal, else 80), so a
test's `COLUMNS=80` applies.

Data printed to a terminal (names, reasons, paths, a value the user typed) is never markup
and never a control sequence: `clean` strips ANSI escapes and control characters (an
`\\x1b[2J` in a reason must not clear the operator's screen) and masks ID, phone and bank
numbers; print data with `markup=False` or through `fail`/`say`."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console
from rich.text import Text

console = Console(stderr=False)
err_console = Console(stderr=True)

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes, C0/C1 controls
# but tab and newline.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def clean(text: object) -> str:
    """Data made safe for a terminal: control sequences removed, personal numbers masked."""
    from zhucun.privacy import mask_text

    return mask_text(_CONTROL.sub("", str(text)))


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=2) + "\n")


def _prefix(kind: Literal["error", "warning", "note"]) -> str:
    """The framing word of a message in the operator's language (the message stays)."""
    from zhucun.labels import tr

    zh = {"error": "错误：", "warning": "警告：", "note": "提示："}[kind]
    return tr(zh, f"{kind}: ")


def note(message: object, *, kind: Literal["warning", "note"] = "note") -> None:
    """A note or warning on stderr, framed in the operator's language; the message is data."""
    style = "yellow" if kind == "warning" else ""
    err_console.print(
        Text(_prefix(kind), style=style) + Text(clean(message)), soft_wrap=True, highlight=False
    )


def say(message: object, *, style: str | None = None, wrap: bool = False) -> None:
    """Print data (not markup) on stdout. A sentence may `wrap` at the terminal's width; by
    default a line is left whole (a path or a command stays one piece to copy)."""
    console.print(Text(clean(message), style=style or ""), soft_wrap=not wrap, highlight=False)


def fail(message: str, code: int = 1) -> None:
    """One line on stderr, then exit `code`: the message is data, never markup."""
    import typer

    line = Text(_prefix("error"), style="bold red") + Text(clean(message).replace("\n", " "))
    err_console.print(line, soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def crash(exc: BaseException) -> None:
    """What the operator sees of an error no command caught: one line, exit 1 (the
    traceback with ZHUCUN_DEBUG=1)."""
    if isinstance(exc, OSError) and exc.filename:
        message = f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        message = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    from zhucun.labels import tr

    message += tr("（ZHUCUN_DEBUG=1 显示调用栈）", " (ZHUCUN_DEBUG=1 shows the traceback)")
    err_console.print(
        Text(_prefix("error"), style="bold red") + Text(clean(message)),
        soft_wrap=True,
        highlight=False,
    )
    sys.exit(1)


@dataclass(frozen=True)
class Col:
    """A table column: `key` is its header code (zhucun.labels.header); `drop` orders the
    columns a narrow terminal leaves out first (0: always shown)."""

    key: str
    kind: Literal["id", "text", "num"] = "text"
    drop: int = 0


def print_table(
    title: str,
    cols: Sequence[Col],
    rows: Iterable[Sequence[object]],
    *,
    wide: bool = False,
    out: Console | None = None,
) -> list[str]:
    """Print a table that fits (see the module docstring); returns the dropped headers.
    With `wide`, every column is shown and the table is as wide as it needs to be."""
    from rich.measure import Measurement

    from zhucun.labels import header, tr

    target = out or console
    data = [[Text(clean(v)) if not isinstance(v, Text) else v for v in r] for r in rows]
    shown = list(range(len(cols)))

    def build(indices: list[int]) -> Any:
        return _build([cols[i] for i in indices], [[r[i] for i in indices] for r in data])

    # measured unclamped: a Table's measurement never exceeds the width it is offered
    unbounded = target.options.update_width(10_000)
    table = build(shown)
    target.print(Text(clean(title), style="bold"), highlight=False)  # above: never squeezed
    if wide:
        need = Measurement.get(target, unbounded, table).maximum
        if need > target.width:
            target = Console(
                width=need, file=target.file, force_terminal=target.is_terminal or None
            )
        target.print(table)
        return []
    dropped: list[int] = []
    while Measurement.get(target, unbounded, table).minimum > target.width:
        candidates = [i for i in shown if cols[i].drop > 0]
        if not candidates:
            break
        worst = max(candidates, key=lambda i: (cols[i].drop, i))
        shown.remove(worst)
        dropped.append(worst)
        table = build(shown)
    target.print(table)
    names = [header(cols[i].key) for i in sorted(dropped)]
    if names:
        target.print(
            Text(
                tr(
                    f"（窄屏省略了：{'、'.join(names)}；加 --wide 显示全部列）",
                    f"(columns left out at this width: {', '.join(names)}; --wide shows all)",
                ),
                style="dim",
            ),
            soft_wrap=True,
            highlight=False,
        )
    return names


def _build(cols: Sequence[Col], rows: list[list[Text]]) -> Any:
    from rich.cells import cell_len
    from rich.table import Table

    from zhucun.labels import header

    table = Table()
    for n, col in enumerate(cols):
        if col.kind == "text":
            table.add_column(header(col.key), overflow="fold")
            continue
        longest = max((cell_len(r[n].plain) for r in rows), default=0)
        table.add_column(
            header(col.key),
            no_wrap=True,
            min_width=max(longest, cell_len(header(col.key))),
            justify="right" if col.kind == "num" else "left",
        )
    for r in rows:
        table.add_row(*r)
    return table


def place_names(codes: Iterable[str]) -> dict[str, str]:
    """Village and township code → '130624100201 龙门村', for the tables an operator reads
    (a code alone says nothing to a reader who knows the villages by name)."""
    from sqlalchemy import select

    from zhucun.db import session_scope
    from zhucun.labels import place
    from zhucun.models import Township, Village

    wanted = sorted({c for c in codes if c})
    found: dict[str, str] = {}
    with session_scope() as session:
        for part in range(0, len(wanted), 500):
            chunk = wanted[part : part + 500]
            for code, name in session.execute(
                select(Village.village_code, Village.name).where(Village.village_code.in_(chunk))
            ):
                found[code] = name
            for code, name in session.execute(
                select(Township.township_code, Township.name).where(
                    Township.township_code.in_(chunk)
                )
            ):
                found[code] = name
    return {c: place(c, found.get(c)) for c in wanted}
