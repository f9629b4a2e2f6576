"""Shared fixtures: a real SQLite database per test, and one Prefect test harness per session.

Prefect reads its settings at import, so its environment is fixed here, before any test
module imports prefect."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_PREFECT_HOME = tempfile.mkdtemp(prefix="zhucun-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")
os.environ.pop("PREFECT_API_URL", None)

import pytest  # noqa: E402
import zhucun.models  # noqa: E402, F401
from sqlmodel import Session  # noqa: E402

from zhucun.settings import reset_settings  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh zhucun data directory (and so a fresh SQLite database) for one test."""
    d = tmp_path / "zhucun-data"
    monkeypatch.setenv("ZHUCUN_DATA_DIR", str(d))
    monkeypatch.delenv("ZHUCUN_DATABASE_URL", raising=False)
    reset_settings()
    yield d
    reset_settings()


@pytest.fixture
def engine(data_dir: Path):  # noqa: ANN201
    """The test's database with every table (tests may use create_all; the product uses
    Alembic, checked against the models in tests/test_migrations.py) and policy rows."""
    from tests.support.database import prepared_engine

    return prepared_engine()


@pytest.fixture
def session(engine) -> Iterator[Session]:  # noqa: ANN001
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One real Prefect server for the whole test session (slow to start: start it once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


POSTGRES_ADMIN_URL = os.environ.get(
    "ZHUCUN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards.

    Skipped where no server answers (a laptop with only Python); in CI (`CI` set) a missing
    server is a failure, since .ci/run starts it."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
        pytest.skip(f"no PostgreSQL server at {POSTGRES_ADMIN_URL}")
    name = f"zhucun_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from zhucun.db import engine_for

        engine_for(url).dispose()
        engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_session(
    postgres_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """A session on the test's own PostgreSQL database, zhucun's settings pointing at it
    (so tasks opening their own sessions reach it too), schema and policy rows in place."""
    from tests.support.database import prepared_engine

    monkeypatch.setenv("ZHUCUN_DATABASE_URL", postgres_url)
    reset_settings()
    with Session(prepared_engine(), expire_on_commit=False) as s:
        yield s


_BARE = ("models", "tasks", "flows", "deployments", "migrations")


def _bare_modules() -> set[str]:
    import sys

    return {n for n in sys.modules if n.split(".")[0] in _BARE}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """The folders are the package `zhucun.*`: a test that reaches one by its bare name
    (`import_module("flows.x")`, a `monkeypatch.setattr("flows.x", …)` string) loads a
    second copy of the code. Only that test fails; the copy is dropped again."""
    import sys

    before = _bare_modules()
    result = yield
    new = sorted(_bare_modules() - before)
    for name in new:
        sys.modules.pop(name, None)
    assert not new, f"imported {new[:3]} by a bare name: use zhucun.{new[0]}"
    return result
