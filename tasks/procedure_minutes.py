"""Draft minutes for the procedures: a decisions.csv that passes every case as far as
people can move it (up to its next publicity window), each stage signed by someone the
engine accepts — the same trial-and-rollback as `tasks.review_minutes`, so a near relative
or a person who signed another stage is never written in.

A county office uses it as the template of a meeting's minutes (edit the tally, strike the
households the meeting did not pass); the demo uses it to run the procedures unattended.
The tally and the acknowledgement it writes are placeholders to be replaced by the
meeting's own; the reason column says so."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session
from zhucun.tasks.procedure_load import load_procedure_items
from zhucun.tasks.review import FILE_COLUMNS, decide, load_contexts, policy_for
from zhucun.tasks.review_files import DETAIL_COLUMNS
from zhucun.tasks.review_minutes import write_minutes

from zhucun.rules import procedure as proc
from zhucun.rules.review import Request, conflict, ladder, stage_rule, stages_for

PLACEHOLDER = "草稿：按会议记录核对"
TALLY = {"representatives": 30, "present": 24, "in_favour": 22}


def draft_procedure_minutes(
    session: Session,
    *,
    county: str,
    cycle_year: int,
    decided_on: date,
    procedure: str | None = None,
) -> list[dict[str, Any]]:
    """Rows approving each open case stage after stage until a publicity window (or the
    cross-check) holds it. The database is left as it was (rolled back).

    Set-based: each round offers every waiting case its next untried candidate in one
    `decide` call for the whole county (a few dozen calls in all, not one per village and
    person); a near relative is never offered, so no trial escalates a stage the file
    would not."""
    policy = policy_for(session, county, cycle_year)
    full = ladder(policy)
    rows: list[dict[str, Any]] = []
    try:
        for _ in range(4 * max(len(v) for v in policy.procedure_stages.values())):
            waiting = _waiting(session, county, cycle_year, procedure, policy)
            if not waiting:
                break
            ctxs = load_contexts(
                session, sorted({i.village_code for i in waiting}), policy, cycle_year
            )
            tried: dict[tuple[str, str], set[str]] = defaultdict(set)
            moved = False
            for _round in range(12):
                reqs = []
                for item in waiting:
                    rule = stage_rule(stages_for(policy, item.subject), item.status)
                    ctx = ctxs[item.village_code]
                    key = (item.subject, item.subject_id)
                    pick = next(
                        (c for c in _candidates(item, rule, ctx, full) if c not in tried[key]), None
                    )
                    if pick is None or rule is None:
                        continue
                    tried[key].add(pick)
                    reqs.append(
                        Request(
                            item.subject,
                            item.subject_id,
                            item.status,
                            pick,
                            "approve",
                            None,
                            decided_on,
                            _details(rule.kind, item),
                        )
                    )
                if not reqs:
                    break
                res = decide(
                    session,
                    reqs,
                    cycle_year=cycle_year,
                    channel="file",
                    county=county,
                    today=decided_on,
                )
                ok = {
                    (o.request.subject, o.request.subject_id): o.request
                    for o in res.outcomes
                    if o.verdict.accepted
                }
                rows += [_row(r) for r in ok.values()]
                moved |= bool(ok)
                waiting = [i for i in waiting if (i.subject, i.subject_id) not in ok]
            if not moved:
                break
        return rows
    finally:
        session.rollback()


def _waiting(
    session: Session, county: str, cycle_year: int, procedure: str | None, policy: Any
) -> list[Any]:
    out = []
    for (subject, _), i in load_procedure_items(session, cycle_year).items():
        if procedure not in (None, subject) or not i.village_code.startswith(county):
            continue
        rule = stage_rule(stages_for(policy, i.subject), i.status)
        if rule is not None and rule.kind not in proc.AUTOMATIC:
            out.append(i)
    return out


def _candidates(item: Any, rule: Any, ctx: Any, full: Any) -> list[str]:
    """Who may sign: holders of the stage's roles, then of each level above it (a stage
    escalated there); never a near relative of the household."""
    levels = [list(rule.roles)] + [list(s.roles) for s in full if s.stage in ("township", "county")]
    out: list[str] = []
    probe = Request(item.subject, item.subject_id, rule.stage, "", "approve", None, date.min)
    for roles in levels:
        for rid, held in sorted(ctx.roles.items()):
            free = conflict(replace(probe, reviewer_id=rid), item, ctx) is None
            if held & set(roles) and rid not in out and free:
                out.append(rid)
    return out


def _details(stage_kind: str, item: Any) -> dict[str, object] | None:
    if stage_kind == "appraisal":
        return dict(TALLY)
    if stage_kind == "acknowledge" and item.members:
        return {"acknowledged_by": sorted(item.members)[0]}
    return None


def _row(r: Request) -> dict[str, Any]:
    details = dict(r.details or {})
    return dict(
        stage=r.stage,
        subject=r.subject,
        subject_id=r.subject_id,
        reviewer_id=r.reviewer_id,
        decision=r.decision,
        reason=PLACEHOLDER if details else "",
        decided_on=r.decided_on.isoformat(),
        **{c: details.get(c, "") for c in DETAIL_COLUMNS},
    )


def write_procedure_minutes(rows: list[dict[str, Any]], path: Path) -> Path:
    """The review's minutes writer, with the procedure stages' optional columns."""
    return write_minutes(rows, path, (*FILE_COLUMNS, *DETAIL_COLUMNS))
