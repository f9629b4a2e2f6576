"""The `zhucun` command: what a county operator, an approver and a script use.

Each command group lives in its own module and registers itself here. Prefect and the
flows are imported inside commands, never at import time, so that `--data-dir` and the
environment are settled before Prefect reads its settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer


class _App(typer.Typer):
    """The `zhucun` command: an error no command caught is one line and exit 1, never a
    traceback (an operator's terminal, a cron mail) — unless ZHUCUN_DEBUG is set."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if os.environ.get("ZHUCUN_DEBUG"):
                raise
            from zhucun.cli.output import crash

            crash(exc)


app = _App(
    rich_markup_mode="markdown",
    name="zhucun",
    help="驻村帮扶: dispatch resident work teams, assess poor households, draft and review "
    "village plans and household strategies, evaluate progress until exit.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


# Commands that start flow runs, and `review`, which resumes waiting ones.
FLOW_COMMANDS = frozenset({"cycle", "evaluate", "demo", "check", "report"})
API_COMMANDS = FLOW_COMMANDS | {"review"}


def prepare_environment(command: str | None = None, quiet: bool = False) -> None:
    """Defaults for Prefect that must be in place before `import prefect`: its own home
    (and database) under zhucun's data directory, and no telemetry (works offline); the
    Prefect API a flow command's runs go to (`_choose_api`)."""
    from zhucun.settings import get_settings

    settings = get_settings()
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # a temporary server on a loaded 2-core machine can take longer than Prefect's 20 s
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if command in API_COMMANDS:
        _choose_api(settings.data_dir, runs=command in FLOW_COMMANDS, quiet=quiet)
    _stack_auth(settings.data_dir)


def _choose_api(data_dir: Path, runs: bool = True, quiet: bool = False) -> None:
    """Runs go to the local stack when it is up, not to a temporary server: on a temporary
    server the runs vanish with the process, and an event they emit fires no automation
    of the stack (an evaluation's exit review would never follow). PREFECT_API_URL, when
    set (or a Prefect profile's), always wins. One line on stderr says which it is (none
    for `--json`, and none for a command that starts no run when no stack is up)."""
    if os.environ.get("PREFECT_API_URL"):
        return
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return
    from zhucun.stack import running_stack_api

    api_url = running_stack_api(data_dir)
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url
        note = f"Prefect: runs go to the local stack at {api_url} (zhucun up)"
    elif runs:
        note = "Prefect: no local stack is up (zhucun up): runs use a temporary server"
    else:
        return
    if not quiet:
        import sys

        print(note, file=sys.stderr)


def _stack_auth(data_dir: Path) -> None:
    """A command talking to the local stack (PREFECT_API_URL is its API) sends the
    credentials `zhucun up --auth` stored, unless the environment has its own."""
    import json

    api_url = os.environ.get("PREFECT_API_URL")
    auth_file, state_file = data_dir / "stack" / "auth", data_dir / "stack" / "state.json"
    if not api_url or "PREFECT_API_AUTH_STRING" in os.environ or not auth_file.exists():
        return
    try:
        state = json.loads(state_file.read_text("utf-8"))
    except (OSError, ValueError):
        return
    if state.get("api_url") == api_url.rstrip("/"):
        os.environ["PREFECT_API_AUTH_STRING"] = auth_file.read_text("utf-8").strip()


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Project data directory (databases, logs). Default: $ZHUCUN_DATA_DIR or ~/.zhucun",
        ),
    ] = None,
) -> None:
    if data_dir is not None:
        os.environ["ZHUCUN_DATA_DIR"] = str(data_dir)
        from zhucun.settings import reset_settings

        reset_settings()
    import sys

    # the subcommand's own options are not parsed yet: a script's --json is looked up in argv
    prepare_environment(ctx.invoked_subcommand, quiet="--json" in sys.argv[1:])


def _register() -> None:
    from zhucun.cli import commands_db

    commands_db.register(app)
    for name in (
        "commands_registry",
        "commands_generate",
        "commands_cycle",
        "commands_review",
        "commands_stack",
        "commands_check",
        "commands_report",
        "commands_measures",
        "commands_procedure",
        "commands_monitor",
    ):
        try:
            module = __import__(f"zhucun.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name != f"zhucun.cli.{name}":
                raise
            continue
        module.register(app)


_register()
