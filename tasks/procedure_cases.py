"""Procedure cases, writing side: opening cases, moving them (a decision of the review
ledger, a publicity window that closed, the data cross-check), and what their end does —
the household's status changes at announcement and nowhere earlier. Set-based: one
statement per status and procedure, never an ORM object per case. Helpers never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session
from zhucun.models import (
    CrossCheckFinding,
    Decision,
    Household,
    ProcedureCase,
    Publicity,
    Village,
)
from zhucun.models.evaluation import ExitProposal
from zhucun.tasks.common import audit_many, current_flow_run_id, now
from zhucun.tasks.sql import insert_ignore

from zhucun.policy import Policy
from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

SYSTEM = "zhucun:system"  # the reviewer ID of automatic stage moves in the ledger


def open_cases(
    session: Session,
    procedure: str,
    rows: Sequence[Mapping[str, str]],
    *,
    cycle_year: int,
    origin: str,
    policy: Policy,
    today: date,
    reopen_closed: bool = False,
) -> int:
    """Open one case per subject and cycle (rows: subject_id, village_code); a subject
    that already has a case this cycle keeps it (the unique key), so re-runs open none.
    `reopen_closed`: a subject whose case this cycle ended (refused or announced) starts
    again at the first stage as a new version — monitoring is a state a household enters
    and leaves: refused in March and hit by a shock in August, or relieved in May and
    flooded in July; the earlier versions stay in the ledger."""
    first = rules.stages_for(policy, procedure)[0].stage
    reopened = 0
    if reopen_closed and rows:
        sids = [r["subject_id"] for r in rows]
        for part in range(0, len(sids), 500):
            reopened += (
                session.execute(
                    update(ProcedureCase)
                    .where(
                        ProcedureCase.procedure == procedure,
                        ProcedureCase.cycle_year == cycle_year,
                        ProcedureCase.status.in_((proc.REJECTED, proc.DONE)),
                        ProcedureCase.subject_id.in_(sids[part : part + 500]),
                    )
                    .values(
                        status=first,
                        version=ProcedureCase.version + 1,
                        closed_on=None,
                        reason=f"opened again on {today} ({origin})",
                    )
                ).rowcount
                or 0
            )
    before = _count(session, procedure, cycle_year)
    insert_ignore(
        session,
        ProcedureCase,
        [
            dict(
                procedure=procedure,
                subject_id=r["subject_id"],
                cycle_year=cycle_year,
                village_code=r["village_code"],
                status=first,
                version=1,
                origin=origin,
                opened_on=today,
            )
            for r in rows
        ],
        ("procedure", "subject_id", "cycle_year"),
    )
    opened = _count(session, procedure, cycle_year) - before + reopened
    if opened:  # one row per batch: who opened how many (the cases say which)
        audit_many(
            session,
            [
                dict(
                    actor=f"zhucun:{origin}",
                    action=f"{procedure}.opened",
                    entity=procedure,
                    entity_id=f"{county_of(rows)}/{cycle_year}",
                    after={"opened": opened, "stage": first},
                )
            ],
        )
    return opened


def county_of(rows: Sequence[Mapping[str, str]]) -> str:
    return rows[0]["village_code"][:6] if rows else "-"


def _count(session: Session, procedure: str, cycle_year: int) -> int:
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count())
            .select_from(ProcedureCase)
            .where(ProcedureCase.procedure == procedure, ProcedureCase.cycle_year == cycle_year)
        )
        or 0
    )


def set_case_status(
    session: Session,
    procedure: str,
    cycle_year: int,
    rows: Sequence[Mapping[str, Any]],
    *,
    policy: Policy,
    today: date,
) -> None:
    """Apply status changes (the last of a case winning): `returned` goes back to the
    first stage as a new version; `rejected` and `done` close the case and take effect."""
    stages = rules.stages_for(policy, procedure)
    last = {r["subject_id"]: r for r in rows}
    by: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for sid, r in last.items():
        by[(r["status"], r.get("reason"))].append(sid)
    where = (ProcedureCase.procedure == procedure, ProcedureCase.cycle_year == cycle_year)
    for (status, reason), sids in by.items():
        match = (*where, ProcedureCase.subject_id.in_(sids))
        if status == "returned":
            session.execute(
                update(ProcedureCase)
                .where(*match)
                .values(status=stages[0].stage, version=ProcedureCase.version + 1, reason=reason)
            )
        elif status in (proc.DONE, proc.REJECTED):
            session.execute(
                update(ProcedureCase)
                .where(*match)
                .values(status=status, closed_on=today, reason=reason)
            )
            _take_effect(session, procedure, status, sids, cycle_year, today, reason)
        else:
            session.execute(update(ProcedureCase).where(*match).values(status=status))
    entering = [(sid, r["status"]) for sid, r in last.items() if r["status"] not in ("returned",)]
    _open_windows(session, procedure, cycle_year, entering, stages, today)


def _take_effect(
    session: Session,
    procedure: str,
    status: str,
    sids: Sequence[str],
    cycle_year: int,
    today: date,
    reason: str | None,
) -> None:
    """What the end of a case does. Identification announced: the household is registered
    poor from this cycle year. Exit announced: 销号 (exited, with the year and month). An
    exit refused: the proposal is refused with the reason and the household stays poor."""
    if procedure == "identify" and status == proc.DONE:
        session.execute(
            update(Household)
            .where(Household.household_id.in_(sids))
            .values(status="poor", registered_poor=True, identification_year=cycle_year)
        )
    elif procedure == "exit":
        new = "exited" if status == proc.DONE else "refused"
        if status == proc.DONE:
            session.execute(
                update(Household)
                .where(Household.household_id.in_(sids), Household.status.in_(("poor", "relapsed")))
                .values(status="exited", exit_year=cycle_year, exited_period=f"{today:%Y-%m}")
            )
        session.execute(
            update(ExitProposal)
            .where(ExitProposal.household_id.in_(sids), ExitProposal.status == "proposed")
            .values(status=new)
        )
    elif procedure in proc.MONITORING_PROCEDURES:
        from zhucun.tasks.monitoring_procedures import take_effect

        take_effect(session, procedure, status, sids, today, reason)
    elif procedure == "vexit" and status == proc.DONE:
        # 脱贫村: the teams stay through the transition period (2021: 过渡期内 脱贫村 keep
        # their resident teams), so nothing ends here; the village's exit year is set.
        session.execute(
            update(Village).where(Village.village_code.in_(sids)).values(exit_year=cycle_year)
        )
    audit_many(
        session,
        [
            dict(
                actor="zhucun:procedure",
                action=f"{procedure}.{status}",
                entity=procedure,
                entity_id=f"{sid}/{cycle_year}",
                after={"status": status, "on": str(today), "reason": reason},
            )
            for sid in sids
        ],
    )


def _open_windows(
    session: Session,
    procedure: str,
    cycle_year: int,
    entering: Sequence[tuple[str, str]],
    stages: Sequence[Any],
    today: date,
) -> None:
    """A case entering a publicity stage opens its window on the server's date (a
    backdated decision must not shorten the 公示)."""
    kinds = {s.stage: s for s in stages}
    wanted = [(sid, st) for sid, st in entering if st in kinds and kinds[st].kind == "publicity"]
    if not wanted:
        return
    cases = {
        r.subject_id: r
        for r in session.execute(
            select(
                ProcedureCase.subject_id, ProcedureCase.version, ProcedureCase.village_code
            ).where(
                ProcedureCase.procedure == procedure,
                ProcedureCase.cycle_year == cycle_year,
                ProcedureCase.subject_id.in_([sid for sid, _ in wanted]),
            )
        )
    }
    from datetime import timedelta

    rows = [
        dict(
            subject=procedure,
            subject_id=sid,
            cycle_year=cycle_year,
            version=cases[sid].version,
            stage=st,
            village_code=cases[sid].village_code,
            opens_on=today,
            closes_on=today + timedelta(days=kinds[st].days or 7),
            status="open",
        )
        for sid, st in wanted
        if sid in cases
    ]
    insert_ignore(
        session, Publicity, rows, ("subject", "subject_id", "cycle_year", "version", "stage")
    )
    audit_many(
        session,
        [
            dict(
                actor="zhucun:procedure",
                action="publicity.opened",
                entity=procedure,
                entity_id=f"{r['subject_id']}/{cycle_year}",
                after={
                    "stage": r["stage"],
                    "opens_on": str(r["opens_on"]),
                    "closes_on": str(r["closes_on"]),
                },
            )
            for r in rows
        ],
    )


def auto_decisions(
    session: Session,
    moves: Sequence[Mapping[str, Any]],
    *,
    cycle_year: int,
    policy: Policy,
    today: date,
    at: datetime | None = None,
) -> int:
    """Record automatic stage moves in the ledger (reviewer `zhucun:system`, channel auto)
    and apply them. moves: procedure, subject_id, village_code, version, stage, decision,
    reason, new_status."""
    if not moves:
        return 0
    at = at or now()
    session.execute(
        insert(Decision),
        [
            dict(
                stage=m["stage"],
                subject=m["procedure"],
                subject_id=m["subject_id"],
                cycle_year=cycle_year,
                version=m["version"],
                village_code=m["village_code"],
                reviewer_id=SYSTEM,
                person=None,
                seq=1,
                decision=m["decision"],
                reason=m["reason"],
                decided_on=today,
                received_at=at,
                channel="auto",
                flow_run_id=current_flow_run_id(),
                outcome="accepted",
                refusal_reason=None,
                details=m.get("details"),
            )
            for m in moves
        ],
    )
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in moves:
        by[m["procedure"]].append(
            dict(subject_id=m["subject_id"], status=m["new_status"], reason=m.get("case_reason"))
        )
    for procedure, rows in by.items():
        set_case_status(session, procedure, cycle_year, rows, policy=policy, today=today)
    return len(moves)


def run_crosschecks(
    session: Session, cycle_year: int, *, policy: Policy, today: date, county: str | None = None
) -> dict[str, int]:
    """Cases waiting at a cross-check stage meet the sector findings: an excluding finding
    rejects the case with the rule (错评剔除); otherwise it passes. A `strict` finding passes
    with the note, so the county decides knowing it."""
    stmt = select(
        ProcedureCase.procedure,
        ProcedureCase.subject_id,
        ProcedureCase.village_code,
        ProcedureCase.version,
        ProcedureCase.status,
    ).where(ProcedureCase.cycle_year == cycle_year)
    if county:
        stmt = stmt.where(ProcedureCase.village_code.like(f"{county}%"))
    cases = []
    for r in session.execute(stmt):
        stages = rules.stages_for(policy, r.procedure)
        rule = rules.stage_rule(stages, r.status)
        if rule is not None and rule.kind == "crosscheck":
            cases.append((r, stages))
    if not cases:
        return {"checked": 0, "excluded": 0}
    found: dict[str, list[str]] = defaultdict(list)
    ids = sorted({r.subject_id for r, _ in cases})
    for part in range(0, len(ids), 500):
        for f in session.execute(
            select(CrossCheckFinding.household_id, CrossCheckFinding.kind).where(
                CrossCheckFinding.household_id.in_(ids[part : part + 500])
            )
        ):
            found[f.household_id].append(f.kind)
    moves, excluded = [], 0
    for r, stages in cases:
        hit = proc.exclusion(found.get(r.subject_id, []), policy.crosscheck_exclusions)
        base = dict(
            procedure=r.procedure,
            subject_id=r.subject_id,
            village_code=r.village_code,
            version=r.version,
            stage=r.status,
        )
        if hit and hit[1] == "exclude":
            excluded += 1
            why = f"数据比对: {policy.crosscheck_exclusions[hit[0]].get('zh', hit[0])} ({hit[0]})"
            moves.append(
                base
                | dict(
                    decision="reject",
                    reason=why,
                    new_status=proc.REJECTED,
                    case_reason=why,
                    details={"finding": hit[0]},
                )
            )
        else:
            note = f"strict review: {hit[0]}" if hit else "数据比对无异常"
            moves.append(
                base
                | dict(decision="approve", reason=note, new_status=proc.after(r.status, stages))
            )
    auto_decisions(session, moves, cycle_year=cycle_year, policy=policy, today=today)
    return {"checked": len(moves), "excluded": excluded}
