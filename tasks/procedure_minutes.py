"""Draft minutes for the procedures: a decisions.csv that passes every case as far as
people can move it (up to its next publicity window), each stage signed by someone the
engine accepts — the same trial-and-rollback as `tasks.review_minutes`, so a near relative
or a person who signed another stage is never written in.

A county office uses it as the template of a meeting's minutes (edit the tally, strike the
households the meeting did not pass); the demo uses it to run the procedures unattended.
The tally and the acknowledgement it writes are placeholders to be replaced by the
meeting's own; the reason column says so."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session
from zhucun.tasks.procedure_load import load_procedure_items
from zhucun.tasks.review import FILE_COLUMNS, decide, load_contexts, policy_for
from zhucun.tasks.review_files import DETAIL_COLUMNS

from zhucun.exchange.cells import neutralise
from zhucun.rules import procedure as proc
from zhucun.rules.review import Request, stage_rule, stages_for

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
    cross-check) holds it. The database is left as it was (rolled back)."""
    policy = policy_for(session, county, cycle_year)
    rows: list[dict[str, Any]] = []
    try:
        while True:
            items = [
                i
                for (subject, _), i in load_procedure_items(session, cycle_year).items()
                if procedure in (None, subject) and i.village_code.startswith(county)
            ]
            groups: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
            for i in items:
                rule = stage_rule(stages_for(policy, i.subject), i.status)
                if rule is not None and rule.kind not in proc.AUTOMATIC:
                    groups[(i.subject, i.village_code, i.status)].append(i)
            if not groups:
                return rows
            before = len(rows)
            for (_, village, stage), left in sorted(groups.items()):
                rows += _sign(session, village, stage, left, cycle_year, county, decided_on, policy)
            if len(rows) == before:
                return rows
    finally:
        session.rollback()


def _details(stage_kind: str, item: Any) -> dict[str, object] | None:
    if stage_kind == "appraisal":
        return dict(TALLY)
    if stage_kind == "acknowledge" and item.members:
        return {"acknowledged_by": sorted(item.members)[0]}
    return None


def _sign(
    session: Session,
    village: str,
    stage: str,
    items: list[Any],
    cycle_year: int,
    county: str,
    decided_on: date,
    policy: Any,
) -> list[dict[str, Any]]:
    """Try the people around the village in turn (the village, its team, township and
    county) until each case of the group has a signature or nobody may sign it."""
    kind = stage_rule(stages_for(policy, items[0].subject), stage).kind  # type: ignore[union-attr]
    ctx = load_contexts(session, [village], policy, cycle_year)[village]
    signed: list[dict[str, Any]] = []
    left = list(items)
    for reviewer in sorted(ctx.roles):
        if not left:
            break
        reqs = [
            Request(
                i.subject,
                i.subject_id,
                stage,
                reviewer,
                "approve",
                None,
                decided_on,
                _details(kind, i),
            )
            for i in left
        ]
        res = decide(
            session, reqs, cycle_year=cycle_year, channel="file", county=county, today=decided_on
        )
        ok = {o.request.subject_id: o.request for o in res.outcomes if o.verdict.accepted}
        signed += [_row(r) for r in ok.values()]
        left = [i for i in left if i.subject_id not in ok]
    return signed


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
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[*FILE_COLUMNS, *DETAIL_COLUMNS])
        w.writeheader()
        w.writerows(  # clerks open it in Excel: no cell may run as a formula
            {k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows
        )
    return path
