"""Draft meeting minutes: a decisions.csv that approves every item waiting for review, each
stage signed by someone who may sign it.

A county office uses it as a template for the minutes of a review meeting (edit the rows,
strike what the meeting did not approve, then `zhucun review import`); the demo uses it to
run the whole cycle unattended. Reviewers are chosen by trying them through the very
validation a real decision goes through (`tasks.review.decide`) in a transaction that is
rolled back: a near relative, someone who already signed another stage, or a person without
the role is never written into the minutes, so the file is valid as a whole.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session
from zhucun.tasks.review import (
    FILE_COLUMNS,
    decide,
    group_items,
    load_contexts,
    pending_groups,
    policy_for,
    villages_of,
)

from zhucun.exchange.cells import neutralise
from zhucun.rules.review import Request


def draft_minutes(
    session: Session, *, county: str, cycle_year: int, decided_on: date
) -> list[dict[str, Any]]:
    """Rows of decisions.csv approving what is pending, stage after stage. The database is
    left as it was (the caller's transaction is rolled back)."""
    policy = policy_for(session, county, cycle_year)
    villages = villages_of(session, county, None)
    rows: list[dict[str, Any]] = []
    try:
        while True:
            before = len(rows)
            for g in pending_groups(session, cycle_year, villages, policy=policy):
                rows += _sign_group(
                    session, g["village"], g["stage"], cycle_year, county, decided_on, policy
                )
            if len(rows) == before:
                return rows
    finally:
        session.rollback()


def _sign_group(
    session: Session,
    village: str,
    stage: str,
    cycle_year: int,
    county: str,
    decided_on: date,
    policy: Any,
) -> list[dict[str, Any]]:
    """Approve one village's items at one stage, trying the holders of the deciding level's
    roles in turn until each item has a signature or nobody may sign it."""
    items = group_items(session, cycle_year, village, stage, policy=policy)
    ctx = load_contexts(session, [village], policy, cycle_year)[village]
    by_roles: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        by_roles[tuple(item["roles"])].append(item)
    signed: list[dict[str, Any]] = []
    for roles, left in by_roles.items():
        holders = sorted(r for r, held in ctx.roles.items() if held & set(roles))
        for reviewer in holders:
            if not left:
                break
            accepted = _try(session, left, stage, reviewer, cycle_year, county, decided_on)
            done = {r.subject_id for r in accepted}
            signed += [_row(r) for r in accepted]
            left = [i for i in left if i["subject_id"] not in done]
    return signed


def _try(
    session: Session,
    items: Iterable[dict[str, Any]],
    stage: str,
    reviewer: str,
    cycle_year: int,
    county: str,
    decided_on: date,
) -> list[Request]:
    """Approve what `reviewer` may approve of `items` (written only inside the caller's
    transaction, which draft_minutes rolls back)."""
    reqs = [
        Request(i["subject"], i["subject_id"], stage, reviewer, "approve", None, decided_on)
        for i in items
    ]

    def attempt(batch: list[Request]) -> Any:
        return decide(
            session,
            batch,
            cycle_year=cycle_year,
            channel="file",
            county=county,
            today=decided_on,
            all_or_nothing=True,
        )

    res = attempt(reqs)
    if res.applied:
        return reqs
    ok = [o.request for o in res.outcomes if o.verdict.accepted]
    return ok if ok and attempt(ok).applied else []


def _row(r: Request) -> dict[str, Any]:
    return dict(
        stage=r.stage,
        subject=r.subject,
        subject_id=r.subject_id,
        reviewer_id=r.reviewer_id,
        decision=r.decision,
        reason="",
        decided_on=r.decided_on.isoformat(),
    )


def write_minutes(
    rows: list[dict[str, Any]], path: Path, columns: Iterable[str] = FILE_COLUMNS
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        w.writerows(  # clerks open it in Excel: no cell may run as a formula
            {k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows
        )
    return path
