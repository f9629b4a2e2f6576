"""`zhucun db ...` and `zhucun policy ...`."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from zhucun.cli.output import emit_json, err_console, fail, say
from zhucun.labels import tr

if TYPE_CHECKING:
    from zhucun.policy import Policy

db_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Create or upgrade zhucun's database schema (Alembic); back it up and restore it.",
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Create the schema on a new database, or upgrade an existing one; seeds policy data."""
    from zhucun.migrate import current, upgrade
    from zhucun.settings import get_settings

    upgrade(revision=revision)
    url = _mask(get_settings().effective_database_url)
    if as_json:
        emit_json({"revision": current(), "database": url})
        return
    say(tr(f"数据库已升级到版本 {current()}（{url}）", f"database at revision {current()} ({url})"))


@db_app.command("current")
def db_current(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Print the schema revision of the database."""
    from zhucun.migrate import current

    revision = current()
    if as_json:
        emit_json({"revision": revision})
        return
    say(revision or tr("空数据库（运行 `zhucun db upgrade`）", "empty (run `zhucun db upgrade`)"))


def _sqlite_path(action: str) -> Path:
    """The SQLite file of zhucun's database; for PostgreSQL one line of guidance, exit 2
    (its own tools do this better, and nothing was backed up or restored)."""
    from zhucun.settings import get_settings

    url = get_settings().effective_database_url
    if not url.startswith("sqlite:///"):
        hint = (
            "pg_dump -Fc -f BACKUP.dump DATABASE_URL"
            if action == "backup"
            else "pg_restore --clean --if-exists -d DATABASE_URL BACKUP.dump"
        )
        fail(f"zhucun's database is PostgreSQL ({_mask(url)}): use `{hint}` instead", code=2)
    return Path(url.split("///", 1)[1])


def _holds_data(path: Path) -> bool:
    """Any row outside the schema version and the seeded policy tables."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    con = sqlite3.connect(path, timeout=30)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            if name == "alembic_version" or name.startswith(("policy", "sqlite_")):
                continue
            if con.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone():
                return True
        return False
    finally:
        con.close()


def _copy(source: Path, target: Path) -> int:
    """SQLite's online backup: one consistent snapshot even while a run writes (the copy
    is made under a read lock in one step); written beside the target and renamed."""
    import os

    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()
    os.replace(tmp, target)
    return int(pages)


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="Backup file to write")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Back up zhucun's SQLite database to one file, consistent even during a run
    (PostgreSQL: prints the pg_dump line to use)."""
    source = _sqlite_path("backup")
    if not source.exists():
        fail(f"no database at {source}: nothing to back up", code=2)
    if path.exists() and not force:
        fail(f"{path} exists: choose another name or add --force", code=2)
    if path.is_dir() or not path.parent.is_dir():
        fail(f"cannot write {path}: not a file in an existing folder", code=2)
    try:
        pages = _copy(source, path)
    except (OSError, sqlite3.Error) as exc:
        fail(f"backup failed: {exc}", code=1)
    if as_json:
        emit_json({"database": str(source), "backup": str(path), "pages": pages})
        return
    say(
        tr(
            f"已将 {source} 备份到 {path}（{pages} 页）",
            f"backed up {source} to {path} ({pages} pages)",
        )
    )


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="Backup file written by `zhucun db backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds data")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Restore zhucun's SQLite database from a backup; refuses to replace a database that
    holds data unless --force (PostgreSQL: prints the pg_restore line to use)."""
    target = _sqlite_path("restore")
    if not path.is_file():
        fail(f"backup {path} not found", code=2)
    if not _is_zhucun_backup(path):
        fail(f"{path} is not a zhucun database backup", code=2)
    if _holds_data(target) and not force:
        fail(f"the database at {target} holds data: add --force to replace it", code=2)
    from zhucun.db import dispose_engines

    dispose_engines()
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):  # the replaced database's journal must not replay
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    try:
        _copy(path, target)
    except (OSError, sqlite3.Error) as exc:
        fail(f"restore failed: {exc}", code=1)
    if as_json:
        emit_json({"database": str(target), "backup": str(path)})
        return
    say(
        tr(
            f"已从 {path} 恢复 {target}；较旧的备份请再运行 `zhucun db upgrade`",
            f"restored {target} from {path}; `zhucun db upgrade` brings an older backup up to date",
        )
    )


def _is_zhucun_backup(path: Path) -> bool:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='county'"
            ).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return row is not None


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
    """The effective policy for a year and place, with every number the rules use: each
    key by its label (ZHUCUN_LANG) with its code, or `--json` with the codes alone."""
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
    from zhucun.cli.output import Col, print_table
    from zhucun.cli.policy_text import policy_rows, policy_title

    # each key by its label in the operator's language, its code beneath; values labelled
    print_table(policy_title(data), [Col("policy"), Col("value")], policy_rows(data))


def _effective_policy(year: int, region: str, province: str | None) -> Policy:
    """The database's policy; the shipped defaults while there is no database yet (as for an
    empty policy table), without creating the database file as a side effect."""
    import os

    from sqlalchemy import inspect
    from sqlmodel import Session

    from zhucun.db import engine_for
    from zhucun.models.policy import PolicyValue
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
