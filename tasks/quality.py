"""The data-quality checks as set-based queries (SQLAlchemy Core, SQLite and PostgreSQL):
one query per rule of `zhucun.rules.quality`, counted and cut to its first rows, so a
county of a million people is checked in a few statements, not a Python loop.

A query selects the keys of what it finds and the few inputs the rule's detail needs
(birth years, counts); never an ID number, phone, bank account or health condition in
the output. The detail in words comes from the rule's own per-row function, so the words
and the query cannot drift apart unnoticed (a row whose detail is None is a bug)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from prefect import task
from sqlalchemy import (
    Integer,
    String,
    and_,
    cast,
    exists,
    extract,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    HelperAssignment,
    Household,
    HouseholdAssessment,
    Member,
    MonitoringCase,
    Strategy,
    StrategyMeasure,
    Village,
)
from zhucun.tasks.safety import guarded

from zhucun.db import session_scope
from zhucun.rules import quality as q

H, V = Household.__table__.c, Village.__table__.c
M, HA = Member.__table__.c, HelperAssignment.__table__.c


@dataclass(frozen=True)
class RuleQuery:
    """A rule's query (keys first: household_id, member_id, village_code, village_name)
    and the per-row function that words one of its rows."""

    stmt: Select
    detail: Callable[[Mapping[str, Any]], str | None]


def _born(id_column: Any) -> Any:
    """The birth year in an ID number (characters 7–10), as an integer in the database."""
    return cast(func.substr(id_column, 7, 4), Integer)


def _no_member() -> Any:
    return cast(null(), String(32)).label("member_id")


def _int_null(name: str) -> Any:
    return cast(null(), Integer).label(name)


def _str_null(name: str) -> Any:
    return cast(null(), String(10)).label(name)


def _keys(household_id: Any = H.household_id, member_id: Any = None) -> list[Any]:
    return [
        household_id.label("household_id"),
        _no_member() if member_id is None else member_id.label("member_id"),
        H.village_code.label("village_code"),
        V.name.label("village_name"),
    ]


def _in_county(stmt: Select, county: str | None) -> Select:
    return stmt if county is None else stmt.where(V.county_code == county)


def _households() -> Any:
    return Household.__table__.join(Village.__table__, V.village_code == H.village_code)


def _latest_cycle() -> Any:
    """The latest cycle year of helper assignments, per county (a county that has not run
    a cycle has no row, so rules 4 and 5 find nothing there)."""
    county = func.substr(HA.village_code, 1, 6)
    return (
        select(county.label("county_code"), func.max(HA.cycle_year).label("cycle_year"))
        .group_by(county)
        .subquery("latest_cycle")
    )


def cause_vs_data(county: str | None) -> RuleQuery:
    latest = (
        select(
            HouseholdAssessment.household_id, func.max(HouseholdAssessment.cycle_year).label("y")
        )
        .group_by(HouseholdAssessment.household_id)
        .subquery("latest_assessment")
    )
    a = aliased(HouseholdAssessment, name="a")
    override = a.source == "override"

    def said(cause: str) -> Any:
        by_team = or_(a.main_cause == cause, cast(a.other_causes, String).like(f'%"{cause}"%'))
        return or_(H.registered_main_cause == cause, and_(override, by_team))

    contradicted = {
        "illness": H.chronic_illness_members + H.serious_illness_members == 0,
        "schooling": H.students == 0,
        "water": H.safe_water_ok.is_(True),
        "disability": H.disabled_members == 0,
    }
    stmt = (
        select(
            *_keys(),
            H.registered_main_cause,
            a.source.label("assessment_source"),
            a.main_cause,
            a.other_causes,
            H.chronic_illness_members,
            H.serious_illness_members,
            H.students,
            H.safe_water_ok,
            H.disabled_members,
        )
        .select_from(_households())
        .outerjoin(latest, latest.c.household_id == H.household_id)
        .outerjoin(a, and_(a.household_id == H.household_id, a.cycle_year == latest.c.y))
        .where(or_(*(and_(said(c), contradicted[c]) for c in q.CHECKED_CAUSES)))
    )
    return RuleQuery(_in_county(stmt, county), q.check_cause_vs_data)


def attribute_without_income(county: str | None) -> RuleQuery:
    recorded = or_(*(H[c].isnot(None) for c in q.INCOME_COLUMNS))
    by_column: dict[str, list[str]] = {}
    for attribute, column in q.ATTRIBUTE_INCOME.items():
        by_column.setdefault(column, []).append(attribute)
    missing = or_(
        *(
            and_(H.attribute.in_(attrs), or_(H[col].is_(None), H[col] == 0))
            for col, attrs in by_column.items()
        )
    )
    stmt = (
        select(*_keys(), H.attribute, *(H[c] for c in q.INCOME_COLUMNS))
        .select_from(_households())
        .where(recorded, missing)
    )
    return RuleQuery(_in_county(stmt, county), q.check_attribute_income)


def _without_members() -> Any:
    return ~exists().where(M.household_id == H.household_id)


def labour_vs_age_health(county: str | None, year: int) -> RuleQuery:
    low, high = q.LABOUR_AGES
    born = _born(M.id_number)
    members = _in_county(
        select(
            *_keys(M.household_id, M.member_id),
            born.label("born"),
            M.labour_skill,
            M.health,
            _int_null("head_born"),
            _int_null("size"),
            _int_null("labour_count"),
        )
        .select_from(_households().join(Member.__table__, M.household_id == H.household_id))
        .where(
            M.labour_skill.in_(sorted(q.LABOUR_SKILLS)),
            or_(
                born > year - low,
                born < year - high,
                and_(M.labour_skill == "skilled", M.health == "serious"),
            ),
        ),
        county,
    )
    head_born = _born(H.head_id_number)
    households = _in_county(
        select(
            *_keys(),
            _int_null("born"),
            _str_null("labour_skill"),
            _str_null("health"),
            head_born.label("head_born"),
            H.size,
            H.labour_count,
        )
        .select_from(_households())
        .where(
            _without_members(),
            H.size == 1,
            H.labour_count > 0,
            head_born < year - q.ELDERLY_HEAD_AGE,
        ),
        county,
    )

    def detail(r: Mapping[str, Any]) -> str | None:
        if r["member_id"] is not None:
            return q.check_member_labour(r, year)
        return q.check_household_labour(r, year)

    return RuleQuery(union_all(members, households), detail)  # type: ignore[arg-type]


def poor_without_helper(county: str | None) -> RuleQuery:
    latest = _latest_cycle()
    helper = aliased(HelperAssignment, name="helper")
    stmt = (
        select(*_keys(), H.registered_poor, H.status, latest.c.cycle_year.label("latest_cycle"))
        .select_from(_households().join(latest, latest.c.county_code == V.county_code))
        .outerjoin(
            helper,
            and_(helper.household_id == H.household_id, helper.cycle_year == latest.c.cycle_year),
        )
        .where(H.registered_poor.is_(True), H.status == "poor", helper.id.is_(None))
    )

    def detail(r: Mapping[str, Any]) -> str | None:
        return q.check_poor_without_helper(r, r["latest_cycle"], set())

    return RuleQuery(_in_county(stmt, county), detail)


def _poor_people() -> Any:
    """ID number → the (first) registered poor household it is head or member of."""
    heads = select(H.head_id_number.label("id_number"), H.household_id).where(
        H.registered_poor.is_(True)
    )
    members = (
        select(M.id_number, M.household_id)
        .join(Household.__table__, H.household_id == M.household_id)
        .where(H.registered_poor.is_(True))
    )
    people = union(heads, members).subquery("poor_people")
    return (
        select(people.c.id_number, func.min(people.c.household_id).label("home"))
        .group_by(people.c.id_number)
        .subquery("poor_home")
    )


def helper_is_poor(county: str | None) -> RuleQuery:
    latest, home = _latest_cycle(), _poor_people()
    c = Cadre.__table__.c
    stmt = select(*_keys(HA.household_id), HA.cadre_id, home.c.home).select_from(
        HelperAssignment.__table__.join(
            latest,
            and_(
                latest.c.county_code == func.substr(HA.village_code, 1, 6),
                latest.c.cycle_year == HA.cycle_year,
            ),
        )
        .join(Household.__table__, H.household_id == HA.household_id)
        .join(Village.__table__, V.village_code == H.village_code)
        .join(Cadre.__table__, c.cadre_id == HA.cadre_id)
        .join(home, home.c.id_number == c.id_number)
    )

    def detail(r: Mapping[str, Any]) -> str | None:
        return q.check_helper_is_poor(r["cadre_id"], r["home"])

    return RuleQuery(_in_county(stmt, county), detail)


def duplicate_person(county: str | None) -> RuleQuery:
    people = union_all(
        select(M.id_number.label("id_number"), M.household_id, M.member_id),
        select(H.head_id_number, H.household_id, cast(null(), String(32))),
    ).subquery("people")
    p_county = func.substr(H.village_code, 1, 6)
    dup = (
        select(
            people.c.id_number,
            func.count(people.c.household_id.distinct()).label("households"),
            func.count(p_county.distinct()).label("counties"),
        )
        .join(Household.__table__, H.household_id == people.c.household_id)
        .group_by(people.c.id_number)
        .having(func.count(people.c.household_id.distinct()) > 1)
        .subquery("dup")
    )
    stmt = (
        select(
            people.c.household_id.label("household_id"),
            func.max(people.c.member_id).label("member_id"),
            H.village_code.label("village_code"),
            V.name.label("village_name"),
            dup.c.households,
            dup.c.counties,
        )
        .select_from(
            people.join(dup, dup.c.id_number == people.c.id_number)
            .join(Household.__table__, H.household_id == people.c.household_id)
            .join(Village.__table__, V.village_code == H.village_code)
        )
        .group_by(
            people.c.id_number,
            people.c.household_id,
            H.village_code,
            V.name,
            dup.c.households,
            dup.c.counties,
        )
    )

    def detail(r: Mapping[str, Any]) -> str | None:
        return q.check_duplicate_person(r["households"], r["counties"])

    return RuleQuery(_in_county(stmt, county), detail)


def head_under_16(county: str | None, year: int) -> RuleQuery:
    head_born = _born(H.head_id_number)
    stmt = (
        select(*_keys(), head_born.label("head_born"))
        .select_from(_households())
        .where(head_born > year - q.HEAD_MIN_AGE)
    )
    return RuleQuery(_in_county(stmt, county), lambda r: q.check_head_age(r["head_born"], year))


def member_over_110(county: str | None, year: int) -> RuleQuery:
    """Members, and the heads of households listed without members (a head listed as a
    member is checked once, as a member)."""
    born, head_born = _born(M.id_number), _born(H.head_id_number)
    members = _in_county(
        select(*_keys(M.household_id, M.member_id), born.label("born"))
        .select_from(_households().join(Member.__table__, M.household_id == H.household_id))
        .where(born < year - q.MEMBER_MAX_AGE),
        county,
    )
    heads = _in_county(
        select(*_keys(), head_born.label("born"))
        .select_from(_households())
        .where(_without_members(), head_born < year - q.MEMBER_MAX_AGE),
        county,
    )
    return RuleQuery(
        union_all(members, heads),  # type: ignore[arg-type]
        lambda r: q.check_member_age(r["born"], year),
    )


def monitored_without_measure(county: str | None, today: date) -> RuleQuery:
    mc = MonitoringCase.__table__.c
    s, sm = Strategy.__table__.c, StrategyMeasure.__table__.c
    developed = (
        select(literal(1))
        .select_from(StrategyMeasure.__table__.join(Strategy.__table__, s.id == sm.strategy_id))
        .where(
            s.household_id == mc.household_id,
            s.cycle_year >= extract("year", mc.opened_on),
            s.status != "rejected",
            sm.measure.in_(sorted(q.DEVELOPMENT_MEASURES)),
        )
        .exists()
    )
    stmt = (
        select(*_keys(mc.household_id), mc.opened_on)
        .select_from(
            MonitoringCase.__table__.join(
                Household.__table__, H.household_id == mc.household_id
            ).join(Village.__table__, V.village_code == H.village_code)
        )
        .where(
            mc.status == "open",
            mc.opened_on <= today - timedelta(days=q.MEASURE_GRACE_DAYS),
            ~developed,
        )
    )
    return RuleQuery(
        _in_county(stmt, county), lambda r: q.check_monitored_measure(r["opened_on"], (), today)
    )


def rule_queries(county: str | None, year: int, today: date) -> dict[str, RuleQuery]:
    """Every rule's query, by rule code, in the order of `rules.quality.RULES`."""
    built = {
        "cause-vs-data": cause_vs_data(county),
        "attribute-without-income": attribute_without_income(county),
        "labour-vs-age-health": labour_vs_age_health(county, year),
        "poor-without-helper": poor_without_helper(county),
        "helper-is-poor": helper_is_poor(county),
        "duplicate-person": duplicate_person(county),
        "head-under-16": head_under_16(county, year),
        "member-over-110": member_over_110(county, year),
        "monitored-without-measure": monitored_without_measure(county, today),
    }
    assert list(built) == [r.code for r in q.RULES]
    return built


def run_rule(session: Session, rq: RuleQuery, limit: int | None) -> tuple[int, list[dict]]:
    """(how many rows the rule finds, the first `limit` of them worded; all when None)."""
    sub = rq.stmt.subquery()
    count = session.execute(select(func.count()).select_from(sub)).scalar_one()
    stmt = select(sub).order_by(sub.c.village_code, sub.c.household_id, sub.c.member_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = []
    for r in session.execute(stmt).mappings():
        detail = rq.detail(r)
        if detail is None:
            raise AssertionError(f"query found {r['household_id']} but its rule does not")
        rows.append(
            {
                "household_id": r["household_id"],
                "member_id": r["member_id"],
                "village_code": r["village_code"],
                "village_name": r["village_name"],
                "detail": detail,
            }
        )
    return count, rows


def _cycle_has_run(session: Session, county: str | None) -> bool:
    stmt = select(HA.id)
    if county is not None:
        stmt = stmt.where(HA.village_code.like(f"{county}%"))
    return session.execute(stmt.limit(1)).first() is not None


def check_quality(
    session: Session,
    county: str | None,
    *,
    limit: int | None = 5,
    year: int | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Every rule's count and first rows for a county (or the whole database)."""
    today = today or date.today()
    year = year or today.year
    cycle_run = _cycle_has_run(session, county)
    rules = []
    for code, rq in rule_queries(county, year, today).items():
        rule = q.RULE_BY_CODE[code]
        entry: dict[str, Any] = {
            "code": code,
            "label_zh": rule.label_zh,
            "label_en": rule.label_en,
        }
        if code == "poor-without-helper" and not cycle_run:
            entry.update(
                count=0, rows=[], skipped="no assistance cycle has run: nothing to compare"
            )
        else:
            entry["count"], entry["rows"] = run_rule(session, rq, limit)
        rules.append(entry)
    return {
        "county": county,
        "checked_on": today.isoformat(),
        "findings": sum(r["count"] for r in rules),
        "rules": rules,
    }


@task(name="check-data-quality", task_run_name="data-quality-{county}")
@guarded
def data_quality_task(county: str | None, limit: int = 5) -> dict[str, Any]:
    """Runs in its own session; reads only, so nothing to commit."""
    with session_scope() as session:
        return check_quality(session, county, limit=limit)
