"""Checks a command makes before it starts work, so that a wrong argument is one line and
an exit code instead of a failed Prefect run with a traceback, and so that `zhucun demo`
never overwrites a real county."""

from __future__ import annotations

import os
from pathlib import Path

from zhucun.cli.output import fail
from zhucun.tasks.common import DEMO_ACTION, DEMO_ACTOR


def _existing_engine():  # noqa: ANN202 - None, or the engine of a database with a schema
    from sqlalchemy import inspect

    from zhucun.db import engine_for
    from zhucun.models import County
    from zhucun.settings import get_settings

    url = get_settings().effective_database_url
    if url.startswith("sqlite:///") and not Path(url.split("///", 1)[1]).exists():
        return None
    engine = engine_for(url)
    return engine if inspect(engine).has_table(County.__tablename__) else None


def require_county(county: str) -> str:
    """The county, if the database holds it; otherwise fail (exit 2)."""
    from sqlmodel import Session

    from zhucun.models import County

    engine = _existing_engine()
    if engine is not None:
        with Session(engine) as s:
            if s.get(County, county) is not None:
                return county
    fail(f"county {county} is not in the database: import its registry first (zhucun import)", 2)
    return county


def require_writable(path: Path, what: str = "output") -> None:
    """Fail (exit 2) unless `path` can be created or overwritten."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"cannot write {what} {path}: it is a folder", 2)
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        fail(f"cannot write {what} {path}: folder {parent} missing or not writable", 2)


def demo_counties() -> tuple[set[str], set[str]]:
    """(counties in the database, counties `zhucun demo` generated there)."""
    from sqlalchemy import select
    from sqlmodel import Session

    from zhucun.models import AuditEvent, County

    engine = _existing_engine()
    if engine is None:
        return set(), set()
    with Session(engine) as s:
        present = set(s.scalars(select(County.county_code)))
        marked = set(
            s.scalars(
                select(AuditEvent.entity_id).where(
                    AuditEvent.actor == DEMO_ACTOR, AuditEvent.action == DEMO_ACTION
                )
            )
        )
    return present, marked


def refuse_foreign_data() -> None:
    """`zhucun demo` replaces head names and approves drafted decisions in reviewers'
    names: it must only ever run on a database it filled itself (marked by an audit row per
    generated county), never on a county's real registry."""
    present, marked = demo_counties()
    foreign = sorted(present - marked)
    if foreign:
        from zhucun.settings import get_settings

        fail(
            f"the database in {get_settings().data_dir} holds counties `zhucun demo` did not "
            f"generate ({', '.join(foreign[:5])}); demo would overwrite them: give it a data "
            "directory of its own with --data-dir",
            2,
        )


def mark_demo(county: str) -> None:
    """Record that `county` in this database is generated demo data."""

    from zhucun.db import session_scope
    from zhucun.tasks.common import audit, demo_marked

    with session_scope() as s:
        if not demo_marked(s, county):
            audit(s, actor=DEMO_ACTOR, action=DEMO_ACTION, entity="county", entity_id=county)
