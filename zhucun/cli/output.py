"""Output helpers shared by commands: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console(stderr=False)
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=2) + "\n")


def fail(message: str, code: int = 1) -> None:
    import typer

    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
