"""The kinds of household the measure rules see (`StrategyKey`: causes and seven
predicates) and the rules' answer per kind, in temporary tables the set-based strategies
(`tasks.strategies_sql`) join the chunk's households to.

Why apart: the rules run once per kind, never per household; this is the Python side of
that (the key, the canonical household of a key, the bounded per-process cache), the SQL
side that compares and writes is in `tasks.strategies_sql`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    select,
)
from sqlmodel import Session
from zhucun.tasks.sql import copy_rows

from zhucun.policy import Policy
from zhucun.rules import measures as measure_rules
from zhucun.rules.measures import HouseholdFacts, MeasureChoice

KEY_COLUMNS = (
    "main_cause",
    "other_causes",
    "labour",
    "wal",
    "credit",
    "grade",
    "students",
    "disabled",
    "attribute",
)
_META = MetaData()
KEYS = Table(
    "zc_strategy_key",
    _META,
    Column("k", Integer, primary_key=True),
    Column("main_cause", String),
    Column("other_causes", String),
    Column("labour", Boolean),
    Column("wal", Boolean),
    Column("credit", Boolean),
    Column("grade", String),
    Column("students", Boolean),
    Column("disabled", Boolean),
    Column("attribute", String),
    Column("measures", JSON),
    Column("cost", Float),
    Column("n", Integer),
    prefixes=["TEMPORARY"],
)
KEY_MEASURES = Table(
    "zc_strategy_key_measure",
    _META,
    Column("k", Integer),
    Column("pos", Integer),
    Column("measure", String),
    Column("answers_cause", String),
    Column("cost_yuan", Float),
    Column("principal_yuan", Float),
    Column("provider", String),
    Column("expected_effect", String),
    prefixes=["TEMPORARY"],
)
# The households join their key on every key column: without this index the join is a scan
# of the key table per household.
Index("zc_strategy_key_cols", *(KEYS.c[c] for c in KEY_COLUMNS))
Index("zc_strategy_key_measure_k", KEY_MEASURES.c.k)
_KEY_ROW = (*KEY_COLUMNS, "measures", "cost", "n")


@dataclass(frozen=True)
class StrategyKey:
    """What the measure rules see of a household: its causes and seven predicates."""

    main_cause: str
    other_causes: tuple[str, ...]
    labour: bool
    wal: bool  # working-age labour (rules.measures.has_working_age_labour)
    credit: bool
    grade: str
    students: bool
    disabled: bool
    attribute: str


def canonical_facts(key: StrategyKey, policy: Policy, year: int) -> HouseholdFacts:
    """A household that satisfies exactly the key's predicates (the rules give it the same
    measures as every household of the key: tests/test_strategies_sql.py checks this)."""
    return HouseholdFacts(
        size=1,
        labour_count=1 if key.labour else 0,
        head_birth_year=year - policy.working_age[0] if key.wal else None,
        has_credit_access=key.credit,
        housing_grade=key.grade,
        students=1 if key.students else 0,
        disabled_members=1 if key.disabled else 0,
        attribute=key.attribute,
    )


def key_of(facts: HouseholdFacts, main: str, others: Sequence[str], policy: Policy, year: int):
    """The key of one household (the per-row counterpart of the SQL key columns)."""
    return StrategyKey(
        main_cause=main,
        other_causes=tuple(others),
        labour=facts.labour_count > 0,
        wal=measure_rules.has_working_age_labour(facts, policy, year),
        credit=facts.has_credit_access,
        grade=facts.housing_grade,
        students=facts.students > 0,
        disabled=facts.disabled_members > 0,
        attribute=facts.attribute,
    )


# What `load_keys` writes for a key (the rules' answer, the key row, the measure rows), kept
# across chunks of one process (a province's chunks share most keys) per key column values as
# the database returns them; keyed by the policy's content and year, bounded. A chunk has some
# 3,400 keys and most were seen in an earlier chunk, so each costs a dictionary lookup instead
# of parsing, building the key, running the rules and building the rows again.
_ROWS: dict[tuple[str, int], dict[tuple[Any, ...], _KeyRows]] = {}
_CACHE_MAX = 200_000


@dataclass(frozen=True)
class _KeyRows:
    key: StrategyKey
    choices: list[MeasureChoice]
    row: tuple[Any, ...]  # the key table's row but its number k (`_KEY_ROW` order)
    measures: list[tuple[Any, ...]]  # the key measure rows but their k


def _key_rows(raw: tuple[Any, ...], policy: Policy, year: int) -> _KeyRows:
    d = dict(zip(KEY_COLUMNS, raw, strict=True))
    others = d["other_causes"]
    key = StrategyKey(
        **(d | {"other_causes": tuple(json.loads(others) if others else ())})
        | {c: bool(d[c]) for c in ("labour", "wal", "credit", "students", "disabled")}
    )
    facts = canonical_facts(key, policy, year)
    choices = measure_rules.select_measures(facts, key.main_cause, key.other_causes, policy, year)
    return _KeyRows(
        key,
        choices,
        (*raw, [c.measure.value for c in choices], measure_rules.strategy_cost(choices))
        + (len(choices),),
        [
            (i, c.measure.value, c.answers_cause, c.cost_yuan, c.principal_yuan)
            + (c.provider, c.expected_effect)
            for i, c in enumerate(choices)
        ],
    )


def load_keys(session: Session, base: Any, policy: Policy, year: int) -> dict[int, Any]:
    """Run the rules once per distinct key; fill the key tables. {k: (key, choices)}"""
    cols = [base.c[c] for c in KEY_COLUMNS]
    out: dict[int, Any] = {}
    keys, measures = [], []
    rows = _ROWS.setdefault((policy.model_dump_json(), year), {})
    for k, row in enumerate(session.execute(select(*cols).distinct()), start=1):
        raw = tuple(row)
        if (hit := rows.get(raw)) is None:
            if len(rows) >= _CACHE_MAX:
                rows.clear()
            hit = rows[raw] = _key_rows(raw, policy, year)
        out[k] = (hit.key, hit.choices)
        keys.append((k, *hit.row))
        measures += [(k, *m) for m in hit.measures]
    if keys:
        copy_rows(session, KEYS, ["k", *_KEY_ROW], keys)
        copy_rows(session, KEY_MEASURES, [c.name for c in KEY_MEASURES.columns], measures)
    return out
