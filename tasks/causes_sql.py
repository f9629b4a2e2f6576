"""The cause assessment of a chunk as one set-based `INSERT … SELECT … ON CONFLICT` (SQLite
and PostgreSQL: one template, `tasks.sql_dialect.for_dialect`).

Why: per household, loading a dict, running `rules.causes.assess`, JSON-encoding and
comparing in Python cost ~200 µs; the same rules as SQL `CASE` expressions cost a fraction
of that and the database decides what changed. Each household stays one row: its findings'
severities are columns, ranked by comparing them with each other (a row per finding, a window
and a pivot back took 5.3 s for 200,000 households; this takes 3.3 s). `zhucun.rules.causes`
stays the readable reference and the oracle (tests/test_causes_sql.py checks this statement
against `assess` for generated households, evidence included).

Exactness: Python formats shares with `{x:.0%}`/`{x:.2f}` and rounds severities with
`round(x, 3)` (correctly rounded, halves to even), SQLite's printf and round() round
differently on halves, so those three conversions are Python's own on SQLite
(`tasks.sql_dialect`), called only for the (at most three) findings kept per household.

Idempotence is decided in SQL: a conflicting row is updated only when it is the rules' (an
override is never touched) and its causes, evidence or rule version differ (compared as
normalised JSON only when the texts differ, e.g. rows written by the per-row path), so a
re-run writes nothing. One audit row per chunk names the villages, rule version and policy
version; the drafted rows carry their rule version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session
from zhucun.models.enums import Cause
from zhucun.tasks.sql_dialect import for_dialect, register_formats

from zhucun.rules import causes as cause_rules
from zhucun.rules.exit import POOR_STATUSES

ORDER = {c.value: i for i, c in enumerate(cause_rules.NATIONAL_ORDER)}

# The chunk's households in care (tasks.lifecycle_db.in_care), with the rules' derived values.
_HOUSEHOLDS = f"""
h0 AS (
  SELECT household_id, village_code, GREATEST(size, 1) AS s,
         serious_illness_members AS serious, chronic_illness_members AS chronic,
         disabled_members AS disabled, students, labour_count AS labour,
         skilled_labour AS skilled, land_mu AS land,
         coalesce(safe_water_ok, FALSE) AS water, coalesce(has_credit_access, FALSE) AS credit,
         coalesce(road_access, FALSE) AS road, coalesce(low_motivation, FALSE) AS lowmot,
         medical_spending_yuan AS med, education_spending_yuan AS edu,
         disaster_loss_yuan AS loss, business_income_yuan AS biz,
         coalesce(production_cost_yuan, 0) AS pcost,
         GREATEST(per_capita_income_yuan * GREATEST(size, 1), 1.0) AS inc
  FROM household AS hh
  WHERE village_code IN :villages AND registered_poor = TRUE
    AND (status IN ({", ".join(f"'{s}'" for s in POOR_STATUSES)}) OR EXISTS (
      SELECT 1 FROM monitoringcase AS m
      WHERE m.household_id = hh.household_id AND m.status = 'open'))
),
h AS (
  SELECT *, med / inc AS med_share, edu / inc AS edu_share, loss / inc AS loss_share,
         CAST(land AS REAL) / s AS land_pp, GREATEST(biz - pcost, 0.0) / inc AS biz_share
  FROM h0
)"""

# The rules of `rules.causes.findings`: cause → [(condition, severity, indicator, evidence)].
# A cause has one finding at most: its branches exclude each other (serious illness or
# chronic; business income or no credit). Evidence may call the formats.
# fmt: off
_CAUSES: dict[str, list[tuple[str, str, str, str]]] = {
    "illness": [
        ("serious > 0", "LEAST(1.0, 0.8 + 0.1 * serious)", "serious_illness_members",
         "serious || ' member(s) with serious illness'"),
        ("serious <= 0 AND chronic > 0 AND med_share >= :t_med",
         "LEAST(1.0, 0.5 + med_share / 2)", "medical_spending_yuan",
         "'chronic illness; medical spending ' || zc_pct(med_share) || ' of income'")],
    "disability": [
        ("disabled > 0", "LEAST(1.0, 0.6 + 0.15 * disabled)", "disabled_members",
         "disabled || ' disabled member(s)'")],
    "schooling": [
        ("students > 0 AND edu_share >= :t_edu", "LEAST(1.0, 0.4 + edu_share / 2)",
         "education_spending_yuan",
         "students || ' student(s); schooling ' || zc_pct(edu_share) || ' of income'")],
    "disaster": [
        ("loss_share >= :t_loss", "LEAST(1.0, 0.4 + loss_share / 2)", "disaster_loss_yuan",
         "'disaster loss ' || zc_pct(loss_share) || ' of income'")],
    "land": [
        ("land IS NOT NULL AND land_pp < :t_land", "0.45", "land_mu",
         "zc_fix2(land_pp) || ' mu of farmland per person'")],
    "water": [("NOT water", "0.5", "safe_water_ok", "'no safe drinking water'")],
    "labour": [
        ("CAST(labour AS REAL) / s < :t_lab", "CASE WHEN labour = 0 THEN 0.85 ELSE 0.55 END",
         "labour_count", "labour || ' labourer(s) in a household of ' || s")],
    "skills": [("labour > 0 AND skilled = 0", "0.5", "skilled_labour", "'no skilled labourer'")],
    "capital": [
        ("labour > 0 AND biz IS NOT NULL AND biz_share < :t_cap", "0.4", "business_income_yuan",
         "'net business income ' || zc_pct(biz_share) || ' of income'"),
        ("labour > 0 AND biz IS NULL AND NOT credit", "0.4", "has_credit_access",
         "'no access to credit'")],
    "transport": [("NOT road", "0.45", "road_access", "'no road access'")],
    "motivation": [
        ("lowmot", "0.35", "low_motivation", "'assessed by the village as lacking own drive'")],
}
# fmt: on
assert set(_CAUSES) == set(ORDER) - {Cause.other.value}, "a cause without its rule"
_NAMES = sorted(_CAUSES, key=ORDER.__getitem__)
_KEPT = 1 + cause_rules.MAX_OTHER_CAUSES


def _when(c: str, part: int) -> str:
    """Cause `c`'s severity (part 1: NULL when no branch holds), indicator (2) or evidence
    (3) by the branch that holds."""
    branches = _CAUSES[c]
    value = [f"'{b[2]}'" if part == 2 else b[part] for b in branches]
    if len(branches) == 1 and part != 1:
        return value[0]  # asked only where the cause was found
    whens = (f"WHEN {b[0]} THEN {v}" for b, v in zip(branches, value, strict=True))
    return f"CASE {' '.join(whens)} END"


def _rank(c: str) -> str:
    """How many findings go before cause `c`'s: more severe, or as severe and earlier in the
    national order (`rules.causes._rank`). NULL when `c` is not found."""
    before = [
        f"CASE WHEN coalesce(sv_{o}, -1.0) {'>=' if ORDER[o] < ORDER[c] else '>'} sv_{c} "
        "THEN 1 ELSE 0 END"
        for o in _NAMES
        if o != c
    ]
    return f"CASE WHEN sv_{c} IS NOT NULL THEN {' + '.join(before)} END AS rk_{c}"


def _at(position: int, part: str) -> str:
    """The cause, indicator, evidence or rounded severity of the finding ranked `position`
    (0: the main cause), NULL when fewer were found. CASE evaluates only the branch taken,
    so only kept findings are formatted."""
    value = {
        "cause": lambda c: f"'{c}'",
        "indicator": lambda c: _when(c, 2),
        "evidence": lambda c: _when(c, 3),
        "severity": lambda c: f"zc_round3(sv_{c})",
    }[part]
    return "CASE " + " ".join(f"WHEN rk_{c} = {position} THEN {value(c)}" for c in _NAMES) + " END"


# sv: the household's row with its findings' severities; k: their ranks and how many were
# found; p: the kept ones. sv and k are materialised: each column is read many times below.
_FINDINGS = f"""
sv AS MATERIALIZED (
  SELECT h.*, {", ".join(f"{_when(c, 1)} AS sv_{c}" for c in _NAMES)} FROM h
),
k AS MATERIALIZED (
  SELECT sv.*, {", ".join(_rank(c) for c in _NAMES)},
    {" + ".join(f"CASE WHEN sv_{c} IS NULL THEN 0 ELSE 1 END" for c in _NAMES)} AS n
  FROM sv
),
p AS (
  SELECT household_id, village_code, n, {
    ", ".join(
        f"{_at(i, 'cause')} AS c{i + 1}, {_at(i, 'indicator')} AS i{i + 1}, "
        f"{_at(i, 'evidence')} AS e{i + 1}, {_at(i, 'severity')} AS s{i + 1}"
        for i in range(_KEPT)
    )
}
  FROM k
)"""


def _ev(k: int) -> str:
    return f"c{k}, json_object('indicator', i{k}, 'evidence', e{k}, 'severity', s{k})"


ASSESSED = f"""
SELECT p.household_id, p.village_code,
  coalesce(p.c1, '{Cause.other.value}') AS main_cause,
  CASE p.n WHEN 0 THEN '[]' WHEN 1 THEN '[]' WHEN 2 THEN json_array(p.c2)
       ELSE json_array(p.c2, p.c3) END AS other_causes,
  CASE p.n
    WHEN 0 THEN json_object('other',
         json_object('indicator', 'none', 'evidence', 'no indicator triggered'))
    WHEN 1 THEN json_object({_ev(1)})
    WHEN 2 THEN json_object({_ev(1)}, {_ev(2)})
    ELSE json_object({_ev(1)}, {_ev(2)}, {_ev(3)}) END AS evidence
FROM p"""

UPSERT = f"""
WITH {_HOUSEHOLDS}, {_FINDINGS}
INSERT INTO householdassessment (household_id, village_code, cycle_year, main_cause,
    other_causes, evidence, source, rule_version, override_reason, overridden_by)
SELECT a.household_id, a.village_code, :year, a.main_cause, a.other_causes, a.evidence,
       'rule', :version, NULL, NULL
FROM ({ASSESSED}) AS a WHERE true
ON CONFLICT (household_id, cycle_year) DO UPDATE SET
  village_code = excluded.village_code, main_cause = excluded.main_cause,
  other_causes = excluded.other_causes, evidence = excluded.evidence, source = 'rule',
  rule_version = excluded.rule_version, override_reason = NULL, overridden_by = NULL
WHERE householdassessment.source <> 'override' AND (CHANGED)
"""
# A rule row changes when its causes, evidence or rule version differ; JSON is compared as
# JSON where the texts differ (rows the per-row path wrote are spaced differently).
_CHANGED = {
    "sqlite": """householdassessment.main_cause IS NOT excluded.main_cause
  OR (householdassessment.other_causes IS NOT excluded.other_causes
      AND json(householdassessment.other_causes) IS NOT json(excluded.other_causes))
  OR (householdassessment.evidence IS NOT excluded.evidence
      AND json(householdassessment.evidence) IS NOT json(excluded.evidence))
  OR householdassessment.rule_version IS NOT excluded.rule_version""",
    "postgresql": """householdassessment.main_cause IS DISTINCT FROM excluded.main_cause
  OR householdassessment.other_causes::jsonb IS DISTINCT FROM excluded.other_causes::jsonb
  OR householdassessment.evidence::jsonb IS DISTINCT FROM excluded.evidence::jsonb
  OR householdassessment.rule_version IS DISTINCT FROM excluded.rule_version""",
}

SELECT_ONLY = f"WITH {_HOUSEHOLDS}, {_FINDINGS} {ASSESSED} ORDER BY p.household_id"

# What the chunk's households in care now have (overrides included), for the artifact:
# counted by the database (decoding every row's other causes in Python was 3 s of a 1M run).
COUNTS = f"""
WITH {_HOUSEHOLDS}, a AS (
  SELECT x.main_cause, x.other_causes, x.source FROM householdassessment AS x
  JOIN h ON h.household_id = x.household_id WHERE x.cycle_year = :year
)
SELECT 'main' AS kind, main_cause AS cause, source = 'override' AS overridden, count(*) AS n
FROM a GROUP BY main_cause, source
UNION ALL
SELECT 'other', j.value, FALSE, count(*) FROM a, (OTHER_CAUSES) GROUP BY j.value
"""
# The other causes of an assessment, one row each (`j.value`).
_OTHER_CAUSES = {
    "sqlite": "json_each(a.other_causes) AS j",
    "postgresql": "jsonb_array_elements_text(a.other_causes::jsonb) AS j(value)",
}


def _json(value: Any) -> Any:
    """A JSON column as Python: SQLite returns its text, PostgreSQL's driver parses it."""
    import json

    return json.loads(value) if isinstance(value, str) else value


def supported(session: Session) -> bool:
    return session.get_bind().dialect.name in ("sqlite", "postgresql")


def _sql(session: Session, template: str) -> Any:
    dialect = session.get_bind().dialect.name
    sql = template.replace("(CHANGED)", f"({_CHANGED[dialect]})")  # the upsert's condition
    sql = sql.replace("(OTHER_CAUSES)", _OTHER_CAUSES[dialect])
    return _stmt(for_dialect(sql, dialect))


def _params(villages: Sequence[str], thresholds: dict[str, float]) -> dict[str, Any]:
    return dict(
        villages=list(villages),
        t_med=thresholds["medical_spending_share"],
        t_edu=thresholds["education_spending_share"],
        t_loss=thresholds["disaster_loss_share"],
        t_land=thresholds["land_mu_per_person"],
        t_lab=thresholds["labour_ratio"],
        t_cap=thresholds["capital_business_income_share"],
    )


def _stmt(sql: str) -> Any:
    return text(sql).bindparams(bindparam("villages", expanding=True))


def assess_rows(
    session: Session, villages: Sequence[str], thresholds: dict[str, float]
) -> list[dict[str, Any]]:
    """What the statement would write, without writing (for tests and checks)."""

    register_formats(session)
    out = []
    for r in session.execute(_sql(session, SELECT_ONLY), _params(villages, thresholds)):
        out.append(
            dict(
                household_id=r.household_id,
                main_cause=r.main_cause,
                other_causes=_json(r.other_causes),
                evidence=_json(r.evidence),
            )
        )
    return out


def upsert_assessments(
    session: Session,
    villages: Sequence[str],
    cycle_year: int,
    thresholds: dict[str, float],
    version: str,
) -> int:
    """Write the chunk's assessments; returns the rows inserted or changed."""
    register_formats(session)
    params = _params(villages, thresholds) | {"year": cycle_year, "version": version}
    if session.get_bind().dialect.name != "sqlite":
        return int(session.execute(_sql(session, UPSERT), params).rowcount or 0)
    # A statement opening with WITH gets rowcount -1 from sqlite3: count with total_changes
    before = session.execute(text("SELECT total_changes()")).scalar_one()
    session.execute(_sql(session, UPSERT), params)
    return int(session.execute(text("SELECT total_changes()")).scalar_one() - before)


def chunk_counts(
    session: Session, villages: Sequence[str], cycle_year: int, thresholds: dict[str, float]
) -> tuple[int, dict[str, int], dict[str, int], int]:
    """(households, main cause counts, other cause counts, overrides) of the chunk."""
    from collections import Counter

    main: Counter[str] = Counter()
    other: Counter[str] = Counter()
    n = overrides = 0
    params = _params(villages, thresholds) | {"year": cycle_year}
    for kind, cause, overridden, count in session.execute(_sql(session, COUNTS), params):
        if kind == "other":
            other[cause] += count
            continue
        n += count
        main[cause] += count
        overrides += count if overridden else 0
    return n, dict(main), dict(other), overrides
