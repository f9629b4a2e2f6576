"""SQLite plans a chunk's queries from statistics each stage refreshes: without them it took
`household.status` as selective and read every poor household of the database for each chunk
of villages (a province's stages grew with the square of its size)."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlmodel import Session
from zhucun.models import Household
from zhucun.tasks.lifecycle_db import scope_chunks

from tests.support.county import COUNTY, seed_county


def plan(session: Session, villages: list[str]) -> str:
    marks = ", ".join(f"'{v}'" for v in villages)
    rows = session.execute(
        text(
            "EXPLAIN QUERY PLAN SELECT village_code, count(*) FROM household "
            f"WHERE village_code IN ({marks}) AND registered_poor = 1 "
            "AND status IN ('poor', 'relapsed') GROUP BY village_code"
        )
    ).all()
    return " ".join(str(r[-1]) for r in rows)


def test_a_stage_refreshes_statistics_and_chunks_read_by_village(session: Session) -> None:
    seed_county(session, households_per_village=40)
    session.commit()
    villages = sorted(set(session.scalars(select(Household.village_code))))[:2]
    assert not session.execute(
        text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
    ).scalar()
    scope_chunks.fn(COUNTY)
    session.commit()
    assert session.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar() > 0
    assert "ix_household_village_poor" in plan(session, villages), plan(session, villages)


def test_postgresql_plans_each_statement_for_its_values(postgres_url: str) -> None:
    """psycopg prepares a statement after five runs and PostgreSQL may then keep a generic
    plan: an `IN` list of 500 bound household IDs became a scan comparing every member row
    with every parameter (11.7 s of a county's review sync). zhucun's sessions, from every
    connection of the pool, plan each statement for its own values."""
    from zhucun.db import engine_for
    from zhucun.migrate import upgrade

    upgrade(postgres_url)
    engine = engine_for(postgres_url)
    with engine.connect() as a, engine.connect() as b:
        for conn in (a, b):
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
            # and none is JIT-compiled (compiling a chunk's statement cost more than running it)
            assert conn.execute(text("SHOW jit")).scalar() == "off"


def test_postgresql_stages_analyze_with_a_small_sample(postgres_url: str) -> None:
    """Each stage analyzes the tables it reads (a table just imported or written has no
    statistics yet), with a sample of 9,000 rows for that ANALYZE only: the default sample
    took 1.1–1.6 s of every stage of a 200,000-household county. The session's target is
    PostgreSQL's own again after the transaction."""
    from zhucun.db import STAGE_TABLES, engine_for, refresh_planner_statistics
    from zhucun.migrate import upgrade

    upgrade(postgres_url)
    with Session(engine_for(postgres_url)) as session:
        never = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'household'"))
        assert never == -1  # PostgreSQL's "never analyzed"
        refresh_planner_statistics(session)
        assert session.scalar(text("SHOW default_statistics_target")) == "30"
        analyzed = session.execute(
            text("SELECT relname FROM pg_class WHERE reltuples >= 0 AND relname = ANY(:t)"),
            {"t": list(STAGE_TABLES)},
        ).scalars()
        assert set(analyzed) == set(STAGE_TABLES)
        session.commit()
        assert session.scalar(text("SHOW default_statistics_target")) == "100"
