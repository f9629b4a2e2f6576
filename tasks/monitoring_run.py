"""Who becomes a monitoring object this month (防止返贫监测对象识别), set-based over a chunk of
villages: every rural household with something known of its year — an exited household
always, a never-registered one when a survey of the last 12 months, an open clue or a
live case says something of it. A few statements load the latest survey of the window,
the shocks, the open clues and the candidates as plain rows; `zhucun.rules.monitoring`
decides each; the writes are bulk (the cases' risk types, the clues that became a case).

The registry's own figure of a never-registered household is years old (its card): on
its own it opens nothing — the monitoring acts on fresh information, from the channels
and the visits. What is found goes through the `monitor` procedure; open cases are checked
for 风险消除 in `tasks.monitoring_cases`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal_column, or_, select, true, update
from sqlalchemy.orm import aliased
from sqlmodel import Session
from zhucun.models import Household, MonitoringCase, MonitoringClue, Survey
from zhucun.models.enums import HouseholdStatus
from zhucun.models.monitoring import ClueStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks.lifecycle_db import latest_survey

from zhucun.policy import Policy
from zhucun.rules import exit as exit_rules
from zhucun.rules import monitoring as rules
from zhucun.rules.exit import Situation

ACTOR = "zhucun:monitoring"


def live(mc: Any = MonitoringCase) -> Any:
    """A live case: found and in its `monitor` procedure (pending), or a monitoring object
    (open). Written with literals exactly as the partial unique index `uq_monitoring_open`
    says it, so SQLite and PostgreSQL probe that index (a bound parameter, or another
    order, scanned the table once per clue: 5.5 s of a county's run at 100,000)."""
    return mc.status.in_([literal_column("'open'"), literal_column("'pending'")])


GUARANTEES = (
    "food_clothing_secure",
    "compulsory_education_ok",
    "basic_medical_ok",
    "safe_water_ok",
    "housing_grade",
)
# the household columns tracking needs as well (tasks.evaluation._households)
COLUMNS = (
    "household_id",
    "village_code",
    "status",
    "size",
    "labour_count",
    "per_capita_income_yuan",
    *GUARANTEES,
    "disabled_members",
    "medical_spending_yuan",
    "education_spending_yuan",
)


@dataclass(frozen=True)
class Found:
    """A household the rules make a monitoring object this month."""

    category: str
    trigger: str  # the rules' reason, ";clue" when a clue brought it up
    risk_types: list[str]


def _situation(h: dict[str, Any], latest: Any | None) -> Situation:
    """The latest survey of the window, else the registry's row."""
    src = dict(latest._mapping) if latest is not None else h
    return Situation(
        per_capita_income_yuan=float(src["per_capita_income_yuan"]),
        food_clothing_secure=bool(src["food_clothing_secure"]),
        compulsory_education_ok=bool(src["compulsory_education_ok"]),
        basic_medical_ok=bool(src["basic_medical_ok"]),
        safe_water_ok=bool(src["safe_water_ok"]),
        housing_grade=src["housing_grade"],
    )


def identify_chunk(
    session: Session, villages: Sequence[str], end: date, policy: Policy, *, narrow: bool = True
) -> tuple[dict[str, Found], list[dict[str, Any]]]:
    """The chunk's monitoring objects of the month ending `end`, and the candidate rows
    (COLUMNS) the tracking of open cases needs. Four reads, whatever the chunk's size.
    `narrow=False` reads every rural household with news (the reference the tests compare
    the database's narrowing with)."""
    H, S, C, MC = Household, Survey, MonitoringClue, MonitoringCase
    start = rules.add_months(end, -policy.monitoring_income_months)

    def window(s: Any) -> Any:
        """A survey of the months the monitoring reads."""
        return and_(s.survey_date > start, s.survey_date <= end)

    open_case = exists(select(MC.id).where(MC.household_id == H.household_id, live(MC)))
    open_clue = exists(
        select(C.id).where(
            C.household_id == H.household_id,
            C.status == ClueStatus.open.value,
            C.reported_on <= end,
        )
    )
    # Who the rules could find, or whose case is tracked: a household under the line by
    # its registry or by a survey of the window, with a shock of the window, an open clue
    # or a live case. The rest — at or over the line, nothing happened — are answered
    # "not found" by `rules.identify` whatever else they hold, so the database leaves
    # them out before any row is read (most of a county, every month).
    line = rules.threshold(policy)
    S2 = aliased(Survey)  # the survey of the window that tells, apart from the latest
    may_be_found = or_(
        H.per_capita_income_yuan < line,
        exists(
            select(S2.id).where(
                S2.household_id == H.household_id,
                window(S2),
                or_(S2.per_capita_income_yuan < line, S2.shock != "none"),
            )
        ),
        open_clue,
        open_case,
    )
    if not narrow:
        may_be_found = true()
    rural = H.status.in_((HouseholdStatus.exited.value, HouseholdStatus.non_poor.value))
    # the latest survey of the window: one index lookup per household that may be found
    sv, on = latest_survey(end, session.get_bind().dialect.name == "postgresql", start=start)
    latest = {
        r.household_id: r
        for r in session.execute(
            select(sv.c.household_id, sv.c.per_capita_income_yuan, *(sv.c[g] for g in GUARANTEES))
            .select_from(H)
            .join(sv, on)
            .where(H.village_code.in_(villages), rural, may_be_found)
        )
    }
    kinds: dict[str, list[str]] = defaultdict(list)
    for hid, shock in session.execute(
        select(S.household_id, S.shock)
        .join(H, H.household_id == S.household_id)
        .where(H.village_code.in_(villages), window(S), S.shock != "none", rural)
    ):
        kinds[hid].append(shock)
    amounts: dict[str, list[float]] = defaultdict(list)
    clued: set[str] = set()
    for hid, kind, amount, on in session.execute(
        select(C.household_id, C.kind, C.amount_yuan, C.reported_on).where(
            C.village_code.in_(villages), C.status == ClueStatus.open.value, C.reported_on <= end
        )
    ):
        clued.add(hid)
        kinds[hid].append(kind)
        if amount and on > start:
            amounts[hid].append(float(amount))
    S3 = aliased(Survey)
    surveyed = exists(select(S3.id).where(S3.household_id == H.household_id, window(S3)))
    candidates = [
        dict(r._mapping)
        for r in session.execute(
            select(*(getattr(H, c) for c in COLUMNS))
            .where(
                H.village_code.in_(villages),
                rural,
                or_(H.status == HouseholdStatus.exited.value, surveyed, open_clue, open_case),
                may_be_found,
            )
            .order_by(H.household_id)
        )
    ]
    found: dict[str, Found] = {}
    for h in candidates:
        hid = h["household_id"]
        row = latest.get(hid)
        s = _situation(h, row)
        missing = exit_rules.missing_guarantees(s, policy)
        size = int(h["size"])
        medical, education = float(h["medical_spending_yuan"]), float(h["education_spending_yuan"])
        rigid = rules.rigid_per_capita(size, medical, education, amounts.get(hid, ()))
        # the 12-month figures, for the 风险消除 check of an open case (tasks.monitoring_cases)
        h.update(income_12m=s.per_capita_income_yuan, rigid_pc=rigid, missing=missing)
        result = rules.identify(
            status=h["status"],
            income=s.per_capita_income_yuan,
            rigid=rigid,
            shocks=kinds.get(hid, ()),
            missing_guarantees=missing,
            policy=policy,
        )
        if result.category is None:
            continue
        found[hid] = Found(
            result.category,
            result.reason + (";clue" if hid in clued else ""),
            rules.risk_types(
                shocks=kinds.get(hid, ()),
                missing_guarantees=missing,
                labour_count=int(h["labour_count"]),
                disabled_members=int(h["disabled_members"] or 0),
                household_income_yuan=s.per_capita_income_yuan * size,
                medical_yuan=medical + sum(amounts.get(hid, ())),
                education_yuan=education,
                policy=policy,
            ),
        )
    return found, candidates


def record_risk_types(session: Session, period: str, found: dict[str, Found]) -> int:
    """The risk types of the cases opened this period, in one executemany."""
    if not found:
        return 0
    rows = [
        {"case_id": cid, "types": found[hid].risk_types}
        for cid, hid, have in session.execute(
            select(MonitoringCase.id, MonitoringCase.household_id, MonitoringCase.risk_types).where(
                MonitoringCase.household_id.in_(list(found)),
                MonitoringCase.opened_period == period,
            )
        )
        if have != found[hid].risk_types  # a re-run of the month writes nothing
    ]
    if rows:
        # Core executemany by id: the ORM's bulk update by primary key cost 2 s of a 1M run
        table = MonitoringCase.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("case_id"))
            .values(risk_types=bindparam("types")),
            rows,
        )
    return len(rows)


def link_clues(session: Session, villages: Sequence[str], end: date) -> int:
    """Open clues (up to `end`) of households with a live case (pending: its identification
    procedure is under way; open) become part of it: one UPDATE. A clue of a household the
    rules do not monitor stays open — someone allowed dismisses it with a reason; the daily
    clock flags it when it is late."""
    check_transition("clue", ClueStatus.open, ClueStatus.case)
    C, MC = MonitoringClue, MonitoringCase
    case_id = (
        select(func.min(MC.id)).where(MC.household_id == C.household_id, live(MC)).scalar_subquery()
    )
    has_case = exists(select(MC.id).where(MC.household_id == C.household_id, live(MC)))
    result = session.execute(
        update(C)
        .where(
            C.village_code.in_(villages),
            C.status == ClueStatus.open.value,
            C.reported_on <= end,
            has_case,
        )
        .values(status=ClueStatus.case.value, case_id=case_id, decided_on=end, decided_by=ACTOR)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
