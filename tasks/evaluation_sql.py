"""The evaluation of a chunk as a few set-based statements (SQLite and PostgreSQL).

Why: per household, reading its latest survey into a `Situation`, calling
`rules.exit.evaluate_household` and building the row cost ~80 µs in Python — 19 s for a
county of 250,000 poor households, most of it reading rows. Here the situation (the latest
survey on or before the period's end, else the registry's values), the outcome and its
reason are computed in the database into a temporary table, the evaluation rows are one
`INSERT … SELECT`, and Python reads back only what it acts on: relapses (a status change and
an audit row each), exit candidates and households at risk, and counts.

`rules.exit.evaluate_household` stays the readable reference: `tasks.evaluation` keeps the
per-row path (`per_row=True`) and tests/test_evaluation_sql.py checks both give the same
rows, statuses and summary on generated households, on SQLite and on PostgreSQL. Incomes in
the reasons are formatted as Python's `f"{x:.0f}"` (half to even, by the exact binary
value): SQLite calls Python's own formatting, PostgreSQL `to_char` (`tasks.sql_dialect`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlmodel import Session
from zhucun.models import Evaluation, Household
from zhucun.models.enums import HouseholdStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks.lifecycle_db import latest_survey
from zhucun.tasks.sql import temporary_tables
from zhucun.tasks.sql_dialect import for_dialect, register_formats

from zhucun.policy import Policy
from zhucun.rules.exit import POOR_STATUSES

WORK = Table(
    "zc_eval_work",
    MetaData(),
    Column("household_id", String, primary_key=True),
    Column("village_code", String),
    Column("status", String),
    Column("income", Float),
    Column("food", Boolean),
    Column("edu", Boolean),
    Column("med", Boolean),
    Column("water", Boolean),
    Column("grade", String),
    Column("shock", String),
    Column("income_ok", Boolean),
    Column("guarantees_ok", Boolean),
    Column("outcome", String),
    Column("reason", String),
    prefixes=["TEMPORARY"],
)


@dataclass
class Judged:
    """What an evaluation pass over a chunk did (both paths return it)."""

    evaluated: int = 0
    already: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    per_village: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    risk: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    candidates: list[tuple[str, str]] = field(default_factory=list)  # (household, village)


def _situations(villages: Sequence[str], period: str, end: date, postgres: bool) -> Any:
    """The chunk's households to evaluate with their situation: the latest survey on or
    before `end`, else the registry's row (no shock), as `survey_situation` and
    `registry_situation` read them (a missing boolean is false)."""
    H = Household
    sv, on = latest_survey(end, postgres)
    surveyed = sv.c.household_id.is_not(None)

    def pick(name: str) -> Any:
        return case((surveyed, sv.c[name]), else_=getattr(H, name))

    def flag(name: str) -> Any:
        return func.coalesce(pick(name), false())

    done = (
        select(Evaluation.id)
        .where(Evaluation.household_id == H.household_id, Evaluation.period == period)
        .exists()
    )
    return (
        select(
            H.household_id,
            H.village_code,
            H.status,
            pick("per_capita_income_yuan"),
            flag("food_clothing_secure"),
            flag("compulsory_education_ok"),
            flag("basic_medical_ok"),
            flag("safe_water_ok"),
            pick("housing_grade"),
            case((and_(surveyed, func.coalesce(sv.c.shock, "") != ""), sv.c.shock), else_="none"),
        )
        .select_from(H)
        .outerjoin(sv, on)
        .where(
            H.village_code.in_(villages),
            H.registered_poor.is_(True),
            H.status.in_((*POOR_STATUSES, HouseholdStatus.exited.value)),
            ~done,
        )
    )


_POOR = ", ".join(f"'{s}'" for s in POOR_STATUSES)
_EXITED = HouseholdStatus.exited.value
# "; missing …" for each guarantee not held, in `rules.exit.missing_guarantees`' order.
_MISSING = """(CASE WHEN food THEN '' ELSE '; missing food_clothing' END
  || CASE WHEN edu THEN '' ELSE '; missing compulsory_education' END
  || CASE WHEN med THEN '' ELSE '; missing basic_medical' END
  || CASE WHEN grade IN :grades THEN '' ELSE '; missing housing_' || coalesce(grade, 'None') END
  || CASE WHEN water THEN '' ELSE '; missing safe_water' END)"""
_INCOME = "('income ' || zc_fix0(income) || ' vs line ' || :line_txt)"
_FLAGS = """UPDATE zc_eval_work SET income_ok = (income > :line),
  guarantees_ok = (food AND edu AND med AND grade IN :grades AND water)"""
# `rules.exit.evaluate_household`, branch by branch (a `"; ".join` is the parts each led by
# "; ", less the first two characters).
_JUDGE = f"""UPDATE zc_eval_work SET
  outcome = CASE
    WHEN status IN ({_POOR}) THEN
      CASE WHEN income_ok AND guarantees_ok THEN 'exit' ELSE 'remain' END
    WHEN status = '{_EXITED}' THEN
      CASE WHEN NOT (income_ok AND guarantees_ok) THEN 'relapse'
           WHEN income < :threshold OR shock <> 'none' THEN 'monitor'
           ELSE 'remain' END
    ELSE 'remain' END,
  reason = CASE
    WHEN status IN ({_POOR}) THEN
      CASE WHEN income_ok AND guarantees_ok
           THEN {_INCOME} || '; all guarantees held (exit is proposed, never flipped)'
           ELSE substr(CASE WHEN income_ok THEN '' ELSE '; ' || {_INCOME} || ' (must be above)'
                       END || {_MISSING}, 3) END
    WHEN status = '{_EXITED}' THEN
      CASE WHEN NOT (income_ok AND guarantees_ok)
           THEN 'back in poverty: '
                || substr(CASE WHEN income_ok THEN '' ELSE '; ' || {_INCOME} END
                          || {_MISSING}, 3)
           WHEN income < :threshold OR shock <> 'none'
           THEN 'income ' || zc_fix0(income) || ' vs monitoring threshold ' || :threshold_txt
                || '; shock ' || shock
           ELSE 'exited and stable' END
    ELSE 'status ' || status || ' is not evaluated' END"""


def _sql(session: Session, sql: str) -> Any:
    """The statement in the session's dialect (`zc_fix0` formats as Python does)."""
    register_formats(session)
    sql = for_dialect(sql, session.get_bind().dialect.name)
    return text(sql).bindparams(bindparam("grades", expanding=True))


def judge(
    session: Session,
    period: str,
    villages: Sequence[str],
    end: date,
    policy: Policy,
    actor: str,
) -> tuple[Judged, list[dict[str, Any]]]:
    """Evaluate the chunk's households not yet evaluated for `period`: write their
    `Evaluation` rows and relapses (status and audit rows, returned for the caller to write
    with its own). Returns what was judged and the audit rows."""
    with temporary_tables(session, WORK):
        return _judge(session, period, villages, end, policy, actor)


def _judge(
    session: Session, period: str, villages: Sequence[str], end: date, policy: Policy, actor: str
) -> tuple[Judged, list[dict[str, Any]]]:
    postgres = session.get_bind().dialect.name == "postgresql"
    out = Judged()
    cols = ["household_id", "village_code", "status", "income", "food", "edu", "med"]
    cols += ["water", "grade", "shock"]
    session.execute(insert(WORK).from_select(cols, _situations(villages, period, end, postgres)))
    if postgres:  # autovacuum never analyzes a temporary table
        session.execute(text("ANALYZE zc_eval_work"))
    params = dict(
        line=policy.poverty_line_yuan,
        line_txt=f"{policy.poverty_line_yuan:.0f}",
        threshold=policy.monitoring_threshold_yuan,
        threshold_txt=f"{policy.monitoring_threshold_yuan:.0f}",
        grades=list(policy.safe_housing_grades),
    )
    session.execute(_sql(session, _FLAGS), params)
    session.execute(_sql(session, _JUDGE), params)
    w = WORK.c
    session.execute(
        insert(Evaluation).from_select(
            ["household_id", "village_code", "period", "per_capita_income_yuan"]
            + ["income_ok", "guarantees_ok", "outcome", "reason"],
            select(
                w.household_id,
                w.village_code,
                literal(period),
                w.income,
                w.income_ok,
                w.guarantees_ok,
                w.outcome,
                w.reason,
            ).order_by(w.household_id),
        )
    )
    for village, outcome, n in session.execute(
        select(w.village_code, w.outcome, func.count()).group_by(w.village_code, w.outcome)
    ):
        out.outcomes[outcome] += n
        out.per_village[village][outcome] += n
        out.evaluated += n
    audits = []
    for hid, village, status, outcome in session.execute(
        select(w.household_id, w.village_code, w.status, w.outcome)
        .where(w.outcome.in_(("exit", "monitor", "relapse")))
        .order_by(w.household_id)
    ):
        if outcome == "exit":  # only a poor household gets `exit`: a candidate
            out.candidates.append((hid, village))
            continue
        out.risk[village].append(hid)
        if outcome == "relapse":
            check_transition("household", status, HouseholdStatus.relapsed.value)
            audits.append(
                dict(
                    actor=actor,
                    action="household_relapse",
                    entity="household",
                    entity_id=hid,
                    before={"status": status},
                    after={"status": HouseholdStatus.relapsed.value, "period": period},
                )
            )
    if audits:
        session.execute(
            text(
                "UPDATE household SET status = :relapsed WHERE household_id IN "
                "(SELECT household_id FROM zc_eval_work WHERE outcome = 'relapse')"
            ),
            {"relapsed": HouseholdStatus.relapsed.value},
        )
    out.already = (
        int(
            session.scalar(
                select(func.count())
                .select_from(Evaluation)
                .join(Household, Household.household_id == Evaluation.household_id)
                .where(Household.village_code.in_(villages), Evaluation.period == period)
            )
            or 0
        )
        - out.evaluated
    )
    return out, audits
