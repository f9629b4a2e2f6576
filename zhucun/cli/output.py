"""Output helpers shared by commands: rich tables for people, JSON for scripts.

Data printed to a terminal (names, reasons, paths, a value the user typed) is never markup
and never a control sequence: `clean` strips ANSI escapes and control characters (an
`\\x1b[2J` in a reason must not clear the operator's screen) and masks ID, phone and bank
numbers; print data with `markup=False` or through `fail`/`say`."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

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


def say(message: object, *, style: str | None = None) -> None:
    """Print data (not markup) on stdout."""
    console.print(Text(clean(message), style=style or ""), soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> None:
    """One line on stderr, then exit `code`: the message is data, never markup."""
    import typer

    line = Text("error: ", style="bold red") + Text(clean(message).replace("\n", " "))
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
    message += " (ZHUCUN_DEBUG=1 shows the traceback)"
    err_console.print(
        Text("error: ", style="bold red") + Text(clean(message)), soft_wrap=True, highlight=False
    )
    sys.exit(1)
