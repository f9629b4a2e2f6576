"""`zhucun db ...` and `zhucun policy ...`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from zhucun.cli.output import console, emit_json, err_console, fail

if TYPE_CHECKING:
    from zhucun.policy import Policy

db_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Create or upgrade zhucun's database schema (Alembic).",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Show the policy values in force (poverty line, team size, ...).",
    no_args_is_help=True,
)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Create the schema on a new database, or upgrade an existing one; seeds policy data."""
    from zhucun.migrate import current, upgrade
    from zhucun.settings import get_settings

    upgrade(revision=revision)
    url = get_settings().effective_database_url
    console.print(f"database at revision [bold]{current()}[/] ({_mask(url)})")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from zhucun.migrate import current

    console.print(current() or "empty (run `zhucun db upgrade`)")


def _mask(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@policy_app.command("show")
def policy_show(
    year: Annotated[int, typer.Option(help="Cycle year")] = 2026,
    region: Annotated[str, typer.Option(help="east / central / west")] = "central",
    province: Annotated[str | None, typer.Option(help="2-digit province code")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The effective policy for a year and place, with every number the rules use."""
    if region not in ("east", "central", "west"):
        fail(f"--region must be east, central or west, got {region!r}", code=2)
    if province is not None and not (len(province) == 2 and province.isdigit()):
        fail(f"--province must be a 2-digit province code, got {province!r}", code=2)

    try:
        policy: Policy = _effective_policy(year, region, province)
    except LookupError as exc:  # a year before the policy data: one line, not a traceback
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    data = policy.model_dump(mode="json")
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        console.print(f"[bold]{key}[/]: {value}")


def _effective_policy(year: int, region: str, province: str | None) -> Policy:
    """The database's policy; the shipped defaults while there is no database yet (as for an
    empty policy table), without creating the database file as a side effect."""
    import os

    from sqlalchemy import inspect
    from sqlmodel import Session

    from models.policy import PolicyValue
    from zhucun.db import engine_for
    from zhucun.policy import default_policy, load_policy
    from zhucun.settings import get_settings

    url = get_settings().effective_database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not os.path.exists(path):
            return default_policy(year, region, province)
    engine = engine_for(url)
    if not inspect(engine).has_table(PolicyValue.__tablename__):
        return default_policy(year, region, province)
    with Session(engine) as session:
        return load_policy(session, year, region, province)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(policy_app, name="policy")
