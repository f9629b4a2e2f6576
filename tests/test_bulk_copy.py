"""`copy_rows` (tasks/sql.py): COPY on PostgreSQL, executemany on SQLite. Rows read back
as a plain insert stores them (JSON, dates, booleans), inside the caller's transaction, and
a failure names no value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from zhucun.models import County, Household, Survey, Township, Village
from zhucun.tasks.sql import copy_rows

from tests.support.registry_fixtures import ids
from zhucun.db import engine_for
from zhucun.migrate import upgrade

SURVEY_COLUMNS = (
    "household_id",
    "survey_date",
    "per_capita_income_yuan",
    "food_clothing_secure",
    "compulsory_education_ok",
    "basic_medical_ok",
    "safe_water_ok",
    "housing_grade",
    "shock",
)


# what COPY's text format must escape: a tab, a line break, a backslash, its NULL marker
ODD_NAME = "村\t\\N\n一\\"


def _registry(session: Session) -> None:
    """A county, a township, a village whose industries are a JSON list, two households."""
    session.add(County(county_code="522626", name="岑巩县", province="贵州省", region="west"))
    session.add(Township(township_code="522626100", name="镇", county_code="522626"))
    session.flush()
    copy_rows(
        session,
        Village,
        ("village_code", "name", "township_code", "county_code", "main_industries"),
        [("522626100001", ODD_NAME, "522626100", "522626", ["茶叶", "油茶"])],
    )
    head = ids()
    for hid, idn in (("H1", head["h1"]), ("H2", head["h2"])):
        session.add(
            Household(
                household_id=hid,
                village_code="522626100001",
                head_name="户主",
                head_id_number=idn,
                size=3,
                labour_count=1,
                skilled_labour=0,
                per_capita_income_yuan=3000.0,
                registered_poor=True,
                attribute="general",
                housing_grade="B",
                food_clothing_secure=True,
                compulsory_education_ok=True,
                basic_medical_ok=True,
                safe_water_ok=True,
            )
        )
    session.flush()


def _surveys(n: int) -> Iterator[tuple[Any, ...]]:
    """A generator, as a stage streams its rows: copy_rows must not need a list."""
    for i in range(n):
        hid = "H1" if i % 2 == 0 else "H2"
        yield (
            hid,
            date(2020, 1, 1 + i // 2),
            3000.5 + i,
            i % 3 == 0,
            True,
            False,
            True,
            "A",
            "none",
        )


def _check_copy(engine: Engine) -> None:
    with Session(engine) as session:
        _registry(session)
        assert copy_rows(session, Survey, SURVEY_COLUMNS, _surveys(7), batch_size=3) == 7
        session.commit()
    with Session(engine) as session:
        village = session.get(Village, "522626100001")
        assert village is not None and village.main_industries == ["茶叶", "油茶"]
        assert village.name == ODD_NAME
        assert village.population == 0  # a column left out takes its default
        rows = session.execute(select(Survey).order_by(Survey.survey_date, Survey.household_id))
        got = [
            (s.household_id, s.survey_date, s.per_capita_income_yuan, s.food_clothing_secure)
            for s in rows.scalars()
        ]
        assert got == [(r[0], r[1], r[2], r[3]) for r in _surveys(7)]
        assert all(isinstance(s, date) for s in session.scalars(select(Survey.survey_date)))

        # inside the caller's transaction: a rollback leaves nothing
        copy_rows(session, Survey.__table__, SURVEY_COLUMNS, [next(_late())])
        assert session.scalar(select(func.count()).select_from(Survey)) == 8
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Survey)) == 7

        # a duplicate key: the SQLAlchemy error class, told without the row's values
        with pytest.raises(IntegrityError) as failure:
            copy_rows(session, Survey, SURVEY_COLUMNS, _surveys(1))
        session.rollback()
        assert "H1" not in str(failure.value) and "2020-01-01" not in str(failure.value)


def _late() -> Iterator[tuple[Any, ...]]:
    yield ("H2", date(2021, 6, 30), 1.0, True, True, True, True, "C", "illness")


def test_copy_rows_on_sqlite(engine: Engine) -> None:
    _check_copy(engine)


def test_copy_rows_through_a_connection(engine: Engine) -> None:
    """A Connection (not a session) works too; its commit() ends the copy's transaction."""
    with Session(engine) as session:
        _registry(session)
        session.commit()
    with engine.connect() as conn:
        assert copy_rows(conn, Survey, SURVEY_COLUMNS, _surveys(4)) == 4
        conn.commit()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Survey)) == 4


def test_copy_rows_of_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        assert copy_rows(session, Survey, SURVEY_COLUMNS, iter(())) == 0


@pytest.mark.postgres
def test_copy_rows_on_postgres(postgres_url: str) -> None:
    upgrade(postgres_url)
    _check_copy(engine_for(postgres_url))


@pytest.mark.postgres
def test_insert_ignore_by_copy_on_postgres_keeps_what_is_there(postgres_url: str) -> None:
    """Many rows of an `insert_ignore` go by COPY on PostgreSQL (`copy_ignore`): a row
    already stored stays as it is, a row met twice is stored once, JSON and dates as a
    plain insert stores them; all inside the caller's transaction."""
    upgrade(postgres_url)
    _check_insert_ignore(engine_for(postgres_url))


def test_insert_ignore_of_many_rows_on_sqlite_keeps_what_is_there(engine: Engine) -> None:
    """On SQLite the same rows go by a plain executemany of tuples (`copy_ignore`), with
    the same result: what is stored stays, a row met twice is stored once."""
    _check_insert_ignore(engine)


def _check_insert_ignore(engine: Engine) -> None:
    from zhucun.tasks.sql import COPY_MIN_ROWS, insert_ignore

    keys = ("household_id", "survey_date")
    with Session(engine) as session:
        _registry(session)
        copy_rows(session, Survey, SURVEY_COLUMNS, [next(_late())])  # H2 2021-06-30, 1.0
        base = dict(zip(SURVEY_COLUMNS, next(_surveys(1)), strict=True))
        rows = [
            base
            | {"household_id": "H1" if i % 2 == 0 else "H2", "per_capita_income_yuan": 3000.5 + i}
            | {"survey_date": date(2000, 1, 1) + timedelta(days=i // 2)}
            for i in range(COPY_MIN_ROWS)
        ]
        again = dict(zip(SURVEY_COLUMNS, next(_late()), strict=True)) | {
            "per_capita_income_yuan": 99.0
        }
        assert insert_ignore(session, Survey, [*rows, rows[0], again], keys) == len(rows) + 2
        session.commit()
    with Session(engine) as session:
        stored = dict(
            session.execute(
                select(Survey.survey_date, Survey.per_capita_income_yuan).where(
                    Survey.household_id == "H2", Survey.survey_date == date(2021, 6, 30)
                )
            ).all()
        )
        assert stored == {date(2021, 6, 30): 1.0}  # left as it was
        assert session.scalar(select(func.count()).select_from(Survey)) == COPY_MIN_ROWS + 1
        first = session.execute(
            select(Survey.per_capita_income_yuan, Survey.food_clothing_secure)
            .where(Survey.household_id == "H1")
            .order_by(Survey.survey_date)
        ).first()
        assert tuple(first) == (3000.5, True)
