"""The household strategies of a chunk, set-based: the rules run once per *kind* of
household, the database does the per-household work.

Why: `rules.measures.select_measures` looks at a household only through a few predicates
(labour or not, working-age labour, credit access, housing grade, students or not, a
disabled member or not, the poverty attribute) and its causes. A county of 200,000
households has a few thousand distinct combinations, so the rules run once per combination
(`tasks.strategies_keys.StrategyKey`), exactly as the per-row path runs them (the same
function: the per-row path in `tasks.strategies` stays the readable reference and the test
oracle, tests/test_strategies_sql.py), and a few `INSERT … SELECT` statements write every
strategy and measure row of the chunk, joined to the combinations in temporary tables.

What changed is decided in SQL: a draft is rewritten only when its measure rows (measure,
cause answered, cost) differ as a set from the rules' answer now; a strategy in review is
never touched; a returned one is redrafted (version + 1) with its own audit row (a status
change); a final approved one that differs gets a revision (a new current row, version + 1,
superseding it; its own audit row); drafts get one audit row per chunk. Only the current
version of each household is compared. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlmodel import Session
from zhucun.models import Household, HouseholdAssessment, Strategy
from zhucun.tasks.lifecycle_db import in_care
from zhucun.tasks.sql import dialect_insert, temporary_tables
from zhucun.tasks.strategies_keys import KEY_COLUMNS, KEY_MEASURES, KEYS, load_keys

from zhucun.policy import Policy
from zhucun.rules import measures as measure_rules

WORK = Table(
    "zc_strategy_work",
    MetaData(),
    Column("household_id", String, primary_key=True),
    Column("village_code", String),
    Column("k", Integer),
    Column("old_id", Integer),
    Column("old_status", String),
    Column("old_version", Integer),
    Column("old_final", Boolean),  # approved and its publicity closed
    Column("old_supersedes", Integer),
    Column("same", Integer, server_default="0", nullable=False),  # measure rows as its key's
    Column("action", String),
    prefixes=["TEMPORARY"],
)
WRITTEN = ("insert", "update", "redraft", "revise")
# The chunk's households with their key columns, computed once (the distinct keys and the
# work rows both read it) and, on PostgreSQL, analyzed: joined to the keys through the
# subquery, PostgreSQL joined the keys before the assessments and probed the assessment
# index 1.4 million times for a chunk of 20,000 households (2.8 s a chunk at 200k).
BASE = Table(
    "zc_strategy_base",
    MetaData(),
    Column("household_id", String, primary_key=True),
    Column("village_code", String),
    *(Column(c, KEYS.c[c].type) for c in KEY_COLUMNS),
    prefixes=["TEMPORARY"],
)


def _birth_year() -> Any:
    """The head's birth year, from the ID number where the registry left it empty (as
    `tasks.lifecycle_db.load_households` does)."""
    digits = [func.substr(Household.head_id_number, i, 1).between("0", "9") for i in range(7, 11)]
    from_id = case(
        (and_(*digits), cast(func.substr(Household.head_id_number, 7, 4), Integer)), else_=None
    )
    return func.coalesce(Household.head_birth_year, from_id)


def _base(villages: Sequence[str], cycle_year: int, policy: Policy) -> Any:
    """The chunk's households in care with their key columns (assessed households only)."""
    low, high = policy.working_age
    age = literal(cycle_year) - _birth_year()
    labour = Household.labour_count > 0
    attribute = case(
        (func.coalesce(Household.attribute, "") == "", literal("general")),
        else_=Household.attribute,
    )
    return (
        select(
            Household.household_id,
            Household.village_code,
            HouseholdAssessment.main_cause.label("main_cause"),
            cast(HouseholdAssessment.other_causes, String).label("other_causes"),
            labour.label("labour"),
            # no birth year anywhere: no working-age labour (never NULL: a NULL key column
            # would match no key, and the household would get no strategy)
            func.coalesce(and_(labour, age.between(low, high)), False).label("wal"),
            func.coalesce(Household.has_credit_access, False).label("credit"),
            Household.housing_grade.label("grade"),
            (Household.students > 0).label("students"),
            (Household.disabled_members > 0).label("disabled"),
            attribute.label("attribute"),
        )
        .join(
            HouseholdAssessment,
            and_(
                HouseholdAssessment.household_id == Household.household_id,
                HouseholdAssessment.cycle_year == cycle_year,
            ),
        )
        .where(Household.village_code.in_(list(villages)), in_care())
        .subquery("b")
    )


def unassessed(session: Session, villages: Sequence[str], cycle_year: int) -> int:
    """Households in care without an assessment this cycle (the per-row path drafts them
    from the rules' causes; the set-based path needs the assessment)."""
    has = (
        select(HouseholdAssessment.household_id)
        .where(
            HouseholdAssessment.household_id == Household.household_id,
            HouseholdAssessment.cycle_year == cycle_year,
        )
        .exists()
    )
    return int(
        session.scalar(
            select(func.count())
            .select_from(Household)
            .where(Household.village_code.in_(list(villages)), in_care(), ~has)
        )
        or 0
    )


# The current versions whose measure rows equal their key's as a set (measure, cause
# answered, cost; a measure appears once per strategy and once per key): every old row
# matched and as many as the key has. One grouped join for the chunk, instead of two
# correlated subqueries per household (10 s of a 200k re-run on PostgreSQL). Portable SQL
# but for NULL-safe equality.
_SAME = """
UPDATE zc_strategy_work SET same = 1 WHERE household_id IN (
  SELECT w.household_id FROM zc_strategy_work w
  JOIN zc_strategy_key kk ON kk.k = w.k
  LEFT JOIN strategymeasure sm ON sm.strategy_id = w.old_id
  LEFT JOIN zc_strategy_key_measure m ON m.k = w.k AND m.measure = sm.measure
    AND m.answers_cause {same_as} sm.answers_cause AND m.cost_yuan = sm.cost_yuan
  WHERE w.old_id IS NOT NULL AND (w.old_status = 'draft' OR w.old_final)
  GROUP BY w.household_id, kk.n
  HAVING count(sm.id) = kk.n AND count(m.k) = kk.n)
"""
# A draft that differs is rewritten, a final approved one that differs revised.
_ACTION = """
UPDATE zc_strategy_work SET action = CASE
  WHEN old_id IS NULL THEN 'insert'
  WHEN old_status = 'returned' THEN 'redraft'
  WHEN old_status = 'draft' THEN CASE WHEN same = 1 THEN 'same' ELSE 'update' END
  WHEN old_final AND same = 0 THEN 'revise'
  ELSE 'kept' END
"""


def draft_chunk_sql(
    session: Session, county: str, cycle_year: int, villages: Sequence[str], policy: Policy
) -> dict[str, Any]:
    """Draft the chunk's strategies; the same summary as `tasks.strategies.draft_chunk`
    (plus the audit rows for redrafts, returned for the caller to write)."""
    with temporary_tables(session, BASE, KEYS, KEY_MEASURES, WORK):
        return _draft(session, cycle_year, villages, policy)


def _draft(
    session: Session, cycle_year: int, villages: Sequence[str], policy: Policy
) -> dict[str, Any]:
    chunk = _base(villages, cycle_year, policy)
    session.execute(insert(BASE).from_select([c.name for c in BASE.columns], select(chunk)))
    _analyze(session, BASE)
    base = BASE
    keys = load_keys(session, base, policy, cycle_year)
    _analyze(session, KEYS, KEY_MEASURES)
    join = and_(*(base.c[c] == KEYS.c[c] for c in KEY_COLUMNS))
    s = Strategy.__table__
    session.execute(
        insert(WORK).from_select(
            ["household_id", "village_code", "k", "old_id", "old_status", "old_version"]
            + ["old_final", "old_supersedes"],
            select(base.c.household_id, base.c.village_code, KEYS.c.k, s.c.id, s.c.status)
            .add_columns(
                s.c.version,
                and_(s.c.status == "approved", s.c.approved_on.is_not(None)),
                s.c.supersedes,
            )
            .select_from(base)
            .join(KEYS, join)
            .outerjoin(
                s,
                and_(
                    s.c.household_id == base.c.household_id,
                    s.c.cycle_year == cycle_year,
                    s.c.is_current,
                ),
            ),
        )
    )
    _analyze(session, WORK)
    postgres = session.get_bind().dialect.name == "postgresql"
    session.execute(text(_SAME.format(same_as="IS NOT DISTINCT FROM" if postgres else "IS")))
    session.execute(text(_ACTION))
    redrafts = [
        dict(r._mapping)
        for r in session.execute(
            select(
                WORK.c.household_id, WORK.c.k, WORK.c.old_id, WORK.c.old_version, WORK.c.action
            ).where(WORK.c.action.in_(("redraft", "revise")))
        )
    ]
    old_measures: dict[int, list[str]] = {}
    if redrafts:
        from zhucun.models import StrategyMeasure as SM

        for sid, m in session.execute(
            select(SM.strategy_id, SM.measure)
            .where(SM.strategy_id.in_([r["old_id"] for r in redrafts]))
            .order_by(SM.id)
        ):
            old_measures.setdefault(sid, []).append(m)
    _write(session, cycle_year)
    counts: Counter[tuple[int, str]] = Counter(
        {
            (k, a): n
            for k, a, n in session.execute(
                select(WORK.c.k, WORK.c.action, func.count()).group_by(WORK.c.k, WORK.c.action)
            )
        }
    )
    return _summary(keys, counts, redrafts, old_measures, cycle_year)


def _analyze(session: Session, *tables: Table) -> None:
    """PostgreSQL's autovacuum never analyzes temporary tables: without statistics it
    planned the joins to them as nested scans (135 s instead of seconds at 200k)."""
    if session.get_bind().dialect.name == "postgresql":
        for t in tables:
            session.execute(text(f"ANALYZE {t.name}"))


def _write(session: Session, cycle_year: int) -> None:
    """Upsert the written strategies, replace their measure rows (three statements)."""
    written = WORK.c.action.in_(WRITTEN)
    version = case(
        (WORK.c.action.in_(("redraft", "revise")), WORK.c.old_version + 1),
        (WORK.c.action == "update", WORK.c.old_version),
        else_=1,
    )
    supersedes = case((WORK.c.action == "revise", WORK.c.old_id), else_=WORK.c.old_supersedes)
    # A revised version stays in force but is no longer the current one.
    session.execute(
        text(
            "UPDATE strategy SET is_current = false WHERE id IN "
            "(SELECT old_id FROM zc_strategy_work WHERE action = 'revise')"
        )
    )
    stmt = dialect_insert(session, Strategy).from_select(
        ["household_id", "village_code", "cycle_year", "measures", "cost_yuan", "status"]
        + ["version", "is_current", "supersedes"],
        select(
            WORK.c.household_id,
            WORK.c.village_code,
            literal(cycle_year),
            KEYS.c.measures,
            KEYS.c.cost,
            literal("draft"),
            version,
            literal(True),
            supersedes,
        )
        .join(KEYS, KEYS.c.k == WORK.c.k)
        .where(written),
    )
    cols = ("village_code", "measures", "cost_yuan", "status", "version")
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["household_id", "cycle_year"],
            index_where=text("is_current"),
            set_={c: stmt.excluded[c] for c in cols},
        )
    )
    session.execute(
        text(
            "DELETE FROM strategymeasure WHERE strategy_id IN (SELECT old_id FROM "
            "zc_strategy_work WHERE action IN ('update', 'redraft'))"
        )
    )
    # The chunk's work rows drive, each finding its current strategy by the partial unique
    # index: joined, SQLite (ordered by the strategy's id) and PostgreSQL (whose statistics
    # said the strategy table was empty, as it was when the stage began) scanned every
    # strategy of the year for each chunk — 10 s of a 200,000-household county on PostgreSQL.
    session.execute(
        text(
            "INSERT INTO strategymeasure (strategy_id, measure, answers_cause, cost_yuan, "
            "principal_yuan, provider, expected_effect) "
            "SELECT (SELECT s.id FROM strategy s WHERE s.household_id = w.household_id "
            "AND s.cycle_year = :year AND s.is_current), m.measure, m.answers_cause, "
            "m.cost_yuan, m.principal_yuan, m.provider, m.expected_effect "
            "FROM zc_strategy_work w JOIN zc_strategy_key_measure m ON m.k = w.k "
            "WHERE w.action IN ('insert', 'update', 'redraft', 'revise') "
            "ORDER BY w.household_id, m.pos"
        ),
        {"year": cycle_year},
    )


def _summary(
    keys: dict[int, Any],
    counts: Counter[tuple[int, str]],
    redrafts: list[dict[str, Any]],
    old_measures: dict[int, list[str]],
    cycle_year: int,
) -> dict[str, Any]:
    measure_counts: Counter[str] = Counter()
    total = 0.0
    by_action: Counter[str] = Counter()
    for (k, action), n in counts.items():
        by_action[action] += n
        if action == "kept":
            continue
        _, choices = keys[k]
        for c in choices:
            measure_counts[c.measure.value] += n
        total += n * measure_rules.strategy_cost(choices)
    audits = []
    for r in redrafts:  # redrafts and revisions: each a status change with its own row
        _, choices = keys[r["k"]]
        revise = r["action"] == "revise"
        audits.append(
            dict(
                action="strategy_revised" if revise else "strategy_redrafted",
                entity="strategy",
                entity_id=f"{r['household_id']}/{cycle_year}",
                before={
                    "status": "approved" if revise else "returned",
                    "version": r["old_version"],
                    "measures": old_measures.get(r["old_id"], []),
                },
                after={
                    "status": "draft",
                    "version": r["old_version"] + 1,
                    "measures": [c.measure.value for c in choices],
                    "cost_yuan": measure_rules.strategy_cost(choices),
                },
            )
        )
    return {
        "households": sum(counts.values()),
        "written": sum(by_action[a] for a in WRITTEN),
        "kept_in_review": by_action["kept"],
        "redrafted": by_action["redraft"],
        "revised": by_action["revise"],
        "measures": dict(measure_counts),
        "cost_yuan": round(total, 2),
        "drafted": {
            a: n
            for a, n in (
                ("strategy_drafted", by_action["insert"]),
                ("strategy_updated", by_action["update"]),
            )
            if n
        },
        "audits": audits,
    }
