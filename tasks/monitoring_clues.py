"""Monitoring clues (防止返贫监测线索) in the database: record (a report, a file of sector
alerts or visit findings), list, dismiss, and the daily clocks. The rules are
`zhucun.rules.monitoring`; helpers take a `session` and never commit (the CLI and the tasks
own the transaction).

Recording is all-or-nothing: a batch is judged whole and nothing is written when any
record is refused, so a file never half-applies; a clue already recorded (same household,
channel, sector, kind and day) is left as it is. Everything is set-based — a handful of
statements per batch or per county, never a query per household — because a county's
sector push can name thousands of households."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from prefect import task
from sqlalchemy import and_, case, exists, extract, func, insert, select, update
from sqlmodel import Session
from zhucun.models.evaluation import MonitoringCase
from zhucun.models.lifecycle import HelperAssignment, Strategy, StrategyMeasure, Team, TeamMember
from zhucun.models.monitoring import ClueChannel, ClueStatus, MonitoringClue
from zhucun.models.registry import Cadre, County, Household, Official
from zhucun.models.transitions import check_transition
from zhucun.tasks.common import audit_many
from zhucun.tasks.lifecycle_db import policy_for
from zhucun.tasks.review_lock import server_today
from zhucun.tasks.safety import guarded

from zhucun.db import session_scope
from zhucun.policy import Policy
from zhucun.privacy import mask_text
from zhucun.rules import monitoring as rules
from zhucun.rules.monitoring import ClueRecord

ACTOR = "zhucun:monitoring"
CHUNK = 500  # IDs per IN (...) list


@dataclass(frozen=True)
class Refusal:
    index: int  # position of the record in the batch (the file's row for a file)
    column: str
    message: str


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _villages(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """household_id → village_code for the households that exist."""
    wanted = sorted(set(ids))
    out: dict[str, str] = {}
    for part in _chunks(wanted):
        out.update(
            session.execute(
                select(Household.household_id, Household.village_code).where(
                    Household.household_id.in_(part)
                )
            ).all()
        )
    return out


def _known_people(session: Session, ids: Iterable[str]) -> set[str]:
    """Which of `ids` are cadres or officials (a visit names who visited)."""
    wanted = sorted({i for i in ids if i})
    found: set[str] = set()
    for part in _chunks(wanted):
        found |= set(session.scalars(select(Cadre.cadre_id).where(Cadre.cadre_id.in_(part))))
        found |= set(
            session.scalars(select(Official.person_id).where(Official.person_id.in_(part)))
        )
    return found


def _key(r: ClueRecord) -> tuple[str, str, str, str, date]:
    return (r.household_id, r.channel, r.sector, r.kind, r.reported_on)


def _existing(session: Session, ids: Sequence[str]) -> set[tuple[str, str, str, str, date]]:
    out: set[tuple[str, str, str, str, date]] = set()
    for part in _chunks(sorted(set(ids))):
        out |= {
            tuple(r)  # type: ignore[misc]
            for r in session.execute(
                select(
                    MonitoringClue.household_id,
                    MonitoringClue.channel,
                    MonitoringClue.sector,
                    MonitoringClue.kind,
                    MonitoringClue.reported_on,
                ).where(MonitoringClue.household_id.in_(part))
            )
        }
    return out


class _Policies:
    """Policy per (county, year), loaded once: a clue's clock is its report year's."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[str, int], Policy] = {}

    def get(self, county: str, year: int) -> Policy:
        if (county, year) not in self.cache:
            self.cache[(county, year)] = policy_for(self.session, county, year)
        return self.cache[(county, year)]


def record_clues(
    session: Session,
    records: Sequence[ClueRecord],
    *,
    today: date | None = None,
    source: str = "cli",
) -> tuple[list[Refusal], dict[str, int]]:
    """Judge every record; write them all only if none is refused. Returns the refusals
    (empty: written) and the counts written and already there."""
    today = today or server_today()
    villages = _villages(session, (r.household_id for r in records))
    people = _known_people(
        session, (r.reported_by.strip() for r in records if r.channel == ClueChannel.visit)
    )
    refusals: list[Refusal] = []
    for i, r in enumerate(records):
        refusals += [Refusal(i, p.column, p.message) for p in rules.check_clue(r, today)]
        if r.household_id not in villages:
            refusals.append(Refusal(i, "household", "no such household in the registry"))
        if (
            r.channel == ClueChannel.visit
            and r.reported_by.strip()
            and (r.reported_by.strip() not in people)
        ):
            refusals.append(Refusal(i, "reported_by", "not a cadre or official of the registry"))
    if refusals:
        return refusals, {"written": 0, "unchanged": 0}
    have = _existing(session, list(villages))
    policies = _Policies(session)
    rows: dict[tuple[str, str, str, str, date], dict[str, Any]] = {}
    unchanged = 0
    for r in records:
        key = _key(r)
        if key in have or key in rows:
            unchanged += 1
            continue
        village = villages[r.household_id]
        rows[key] = dict(
            household_id=r.household_id,
            village_code=village,
            channel=r.channel,
            sector=r.sector,
            kind=r.kind,
            amount_yuan=r.amount_yuan,
            reported_on=r.reported_on,
            due_on=rules.clue_due_on(r.reported_on, policies.get(village[:6], r.reported_on.year)),
            reported_by=mask_text(r.reported_by.strip()) or "household",
            note=mask_text(r.note.strip()),
            status=ClueStatus.open.value,
        )
    if rows:
        session.execute(insert(MonitoringClue), list(rows.values()))
        by_channel = Counter(r["channel"] for r in rows.values())
        audit_many(
            session,
            [
                dict(
                    actor=f"{ACTOR}:{source}",
                    action="clues_recorded",
                    entity="monitoring_clue",
                    entity_id=source,
                    after={"written": len(rows), "by_channel": dict(by_channel)},
                )
            ],
        )
    return [], {"written": len(rows), "unchanged": unchanged}


def _overdue(today: date) -> Any:
    return and_(MonitoringClue.status == ClueStatus.open.value, MonitoringClue.due_on < today)


def list_clues(
    session: Session,
    *,
    today: date,
    county: str | None = None,
    village: str | None = None,
    household: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Clues in scope, overdue first (then by due day): what each says, its clock and how
    it ended. Never the note — a reporter may have written a diagnosis into it."""
    c = MonitoringClue
    stmt = select(
        c.id,
        c.household_id,
        c.village_code,
        c.channel,
        c.sector,
        c.kind,
        c.amount_yuan,
        c.reported_on,
        c.due_on,
        c.status,
        c.case_id,
        c.decided_on,
        c.decided_by,
        c.reason,
    )
    if county:
        stmt = stmt.where(c.village_code.startswith(county))
    if village:
        stmt = stmt.where(c.village_code == village)
    if household:
        stmt = stmt.where(c.household_id == household)
    if status:
        stmt = stmt.where(c.status == status)
    stmt = stmt.order_by(case((_overdue(today), 0), else_=1), c.due_on, c.id)
    out = []
    for r in session.execute(stmt):
        row = dict(r._mapping)
        row["overdue_days"] = (today - r.due_on).days if r.status == "open" else 0
        row["overdue"] = rules.clue_overdue(r.status, r.due_on, today)
        out.append(row)
    return out


# --- Who may dismiss -------------------------------------------------------------------------

ROLE_WORDS = {
    "reviewer": "the township reviewer",
    "approver": "the county approver",
    "first_secretary": "the first secretary",
    "member": "the village's resident team",
    "helper": "the household's helper",
}


def deciders(
    session: Session, households: dict[str, str], roles: Sequence[str]
) -> dict[str, set[str]]:
    """household_id → the people (person or cadre IDs) who may decide its clues: of the
    policy's `roles`, the township reviewers and county approvers over its village, the
    active team of its village, its helper. `households` maps household → village."""
    villages = sorted(set(households.values()))
    by_area: dict[str, set[str]] = defaultdict(set)
    wanted_roles = [r for r in ("reviewer", "approver") if r in roles]
    areas = sorted({v[:9] for v in villages} | {v[:6] for v in villages})
    if wanted_roles and areas:
        for area, person in session.execute(
            select(Official.area_code, Official.person_id).where(
                Official.role.in_(wanted_roles), Official.area_code.in_(areas)
            )
        ):
            by_area[area].add(person)
    team_roles = [r for r in ("first_secretary", "member") if r in roles]
    by_village: dict[str, set[str]] = defaultdict(set)
    if team_roles and villages:
        for v, cadre in session.execute(
            select(Team.village_code, TeamMember.cadre_id)
            .join(TeamMember, TeamMember.team_id == Team.team_id)
            .where(
                Team.village_code.in_(villages),
                Team.status == "active",
                TeamMember.active,
                TeamMember.role.in_(team_roles),
            )
        ):
            by_village[v].add(cadre)
    helpers: dict[str, set[str]] = defaultdict(set)
    if "helper" in roles and households:
        for hid, cadre in session.execute(
            select(HelperAssignment.household_id, HelperAssignment.cadre_id).where(
                HelperAssignment.household_id.in_(sorted(households))
            )
        ):
            helpers[hid].add(cadre)
    return {
        hid: by_area[v[:9]] | by_area[v[:6]] | by_village[v] | helpers[hid]
        for hid, v in households.items()
    }


def dismiss_clue(
    session: Session, clue_id: int, *, by: str, reason: str, today: date | None = None
) -> list[rules.Problem]:
    """Dismiss an open clue with its reason, if `by` may; else the problems (nothing
    written). The row stays: status, who, when and why are kept."""
    today = today or server_today()
    clue = session.get(MonitoringClue, clue_id)
    if clue is None:
        return [rules.Problem("clue", f"no clue {clue_id}")]
    policy = policy_for(session, clue.village_code[:6], today.year)
    roles = list(policy.monitoring_clue_deciders)
    allowed = deciders(session, {clue.household_id: clue.village_code}, roles)
    words = ", ".join(ROLE_WORDS.get(r, r) for r in roles)
    problems = rules.check_dismissal(
        status=clue.status,
        reason=reason,
        by=by,
        allowed=allowed[clue.household_id],
        roles=words,
    )
    if problems:
        return problems
    check_transition("clue", clue.status, ClueStatus.dismissed)
    clue.status = ClueStatus.dismissed.value
    clue.decided_on, clue.decided_by = today, by.strip()
    clue.reason = mask_text(reason.strip())
    session.add(clue)
    audit_many(
        session,
        [
            dict(
                actor=f"{ACTOR}:{by.strip()}",
                action="clue_dismissed",
                entity="monitoring_clue",
                entity_id=str(clue_id),
                before={"status": "open"},
                after={"status": "dismissed", "on": today.isoformat()},
            )
        ],
    )
    return []


def household_monitoring(session: Session, ids: Sequence[str]) -> dict[str, dict[str, list]]:
    """Each household's clues and cases, two statements for the whole list."""
    out: dict[str, dict[str, list]] = {hid: {"clues": [], "cases": []} for hid in ids}
    for part in _chunks(sorted(set(ids))):
        for r in session.execute(
            select(MonitoringClue).where(MonitoringClue.household_id.in_(part))
        ).scalars():
            out[r.household_id]["clues"].append(r)
        for r in session.execute(
            select(MonitoringCase).where(MonitoringCase.household_id.in_(part))
        ).scalars():
            out[r.household_id]["cases"].append(r)
    return out


# --- The daily clocks ------------------------------------------------------------------------


def flag_overdue_clues(session: Session, county: str, today: date) -> dict[str, Any]:
    """Flag (once) the county's clues still open past their due day; count every overdue
    clue by township — counts only, for one event per county."""
    c = MonitoringClue
    where = (_overdue(today), c.village_code.startswith(county))
    flagged = session.execute(
        update(c).where(*where, c.overdue_flagged_on.is_(None)).values(overdue_flagged_on=today)
    ).rowcount
    township = func.substr(c.village_code, 1, 9)
    by_township = {
        t: int(n)
        for t, n in session.execute(
            select(township, func.count(c.id)).where(*where).group_by(township)
        )
    }
    oldest = session.scalar(select(func.min(c.due_on)).where(*where))
    return {
        "county": county,
        "overdue": sum(by_township.values()),
        "newly_flagged": int(flagged or 0),
        "by_township": dict(sorted(by_township.items())),
        "max_days_overdue": (today - oldest).days if oldest else 0,
    }


def flag_cases_without_measure(
    session: Session, county: str, today: date, policy: Policy
) -> dict[str, Any]:
    """Flag (once) the county's open cases identified more than a month ago whose
    household has no development measure (开发式帮扶, policy list) in a strategy of the
    case's years; count every such case by township."""
    mc = MonitoringCase
    cutoff = rules.measure_identified_cutoff(today, policy)
    has_measure = exists(
        select(StrategyMeasure.id)
        .join(Strategy, Strategy.id == StrategyMeasure.strategy_id)
        .where(
            Strategy.household_id == mc.household_id,
            Strategy.cycle_year >= extract("year", mc.opened_on),
            Strategy.status != "rejected",
            StrategyMeasure.measure.in_(list(policy.monitoring_development_measures)),
        )
    )
    where = (
        mc.status == "open",
        mc.opened_on <= cutoff,
        mc.village_code.startswith(county),
        ~has_measure,
    )
    flagged = session.execute(
        update(mc)
        .where(*where, mc.measure_flagged_on.is_(None))
        .values(measure_flagged_on=today)
        .execution_options(synchronize_session=False)
    ).rowcount
    township = func.substr(mc.village_code, 1, 9)
    by_township = {
        t: int(n)
        for t, n in session.execute(
            select(township, func.count(mc.id)).where(*where).group_by(township)
        )
    }
    return {
        "county": county,
        "without_measure": sum(by_township.values()),
        "newly_flagged": int(flagged or 0),
        "by_township": dict(sorted(by_township.items())),
        "identified_on_or_before": cutoff.isoformat(),
    }


def check_clocks(session: Session, county: str | None, today: date) -> list[dict[str, Any]]:
    """Both clocks for one county, or for every county; one result per county."""
    counties = (
        [county]
        if county
        else list(session.scalars(select(County.county_code).order_by(County.county_code)))
    )
    out = []
    for code in counties:
        policy = policy_for(session, code, today.year)
        clues = flag_overdue_clues(session, code, today)
        cases = flag_cases_without_measure(session, code, today, policy)
        out.append({"county": code, "today": today.isoformat(), "clues": clues, "cases": cases})
    return out


@task(name="check-monitoring-clocks", task_run_name="monitoring-clocks-{county}")
@guarded
def check_clocks_task(county: str | None = None, today: str | None = None) -> list[dict]:
    with session_scope() as session:
        day = date.fromisoformat(today) if today else server_today()
        return check_clocks(session, county, day)
