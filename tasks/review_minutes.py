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
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session
from zhucun.tasks.common import Scope
from zhucun.tasks.lifecycle_db import BULK_MAX_VILLAGES, plan_chunks
from zhucun.tasks.review import (
    FILE_COLUMNS,
    decide,
    group_items,
    load_contexts,
    pending_groups,
    policy_for,
)

from zhucun.exchange.cells import neutralise
from zhucun.rules import review as rules
from zhucun.rules.review import Request

# Villages are drafted in chunks of about this many households: every statement's list of
# keys stays well under SQLite's 32,766 bound parameters, and memory stays flat.
HOUSEHOLDS_PER_CHUNK = 10_000


def draft_minutes(
    session: Session, *, county: str, cycle_year: int, decided_on: date
) -> list[dict[str, Any]]:
    """Rows of decisions.csv approving what is pending, stage after stage. The database is
    left as it was (the caller's transaction is rolled back).

    Set-based: a chunk of villages (about HOUSEHOLDS_PER_CHUNK households) is decided a
    pass at a time, each pass taking every waiting item one stage further. A pass tries the
    first holder of each item's deciding roles for all the chunk's items in one `decide`,
    then the next holder for the items refused, and so on; a village's items never depend
    on another village's, so the chunks are independent and memory stays flat."""
    policy = policy_for(session, county, cycle_year)
    scope = Scope(county=county)
    chunks = plan_chunks(
        session,
        scope,
        poor_villages_only=False,
        batch_size=HOUSEHOLDS_PER_CHUNK,
        max_villages=BULK_MAX_VILLAGES,
    )
    order = {s.stage: i for i, s in enumerate(rules.ladder(policy))}
    rows: list[dict[str, Any]] = []
    try:
        for chunk in chunks:
            ctxs = load_contexts(session, chunk, policy, cycle_year)
            signed: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
            for n in itertools.count():
                done = _pass(session, chunk, ctxs, n, order, cycle_year, county, decided_on, policy)
                if not done:
                    break
                signed += done
            rows += [row for _key, row in sorted(signed, key=lambda x: x[0])]
        return rows
    finally:
        session.rollback()


def _pass(
    session: Session,
    villages: list[str],
    ctxs: Mapping[str, Any],
    n: int,
    order: Mapping[str, int],
    cycle_year: int,
    county: str,
    decided_on: date,
    policy: Any,
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Take every item waiting in `villages` one stage further: (sort key, row) of each
    signature, the key ordering the minutes by pass, village, stage and reviewer."""
    groups = pending_groups(session, cycle_year, villages, policy=policy)
    waiting: list[tuple[tuple[Any, ...], Request, list[str]]] = []
    for stage in sorted({g["stage"] for g in groups}, key=lambda s: order.get(s, 9)):
        codes = [g["village"] for g in groups if g["stage"] == stage]
        for pos, item in enumerate(group_items(session, cycle_year, codes, stage, policy=policy)):
            roles = set(item["roles"])
            ctx = ctxs[item["village_code"]]
            holders = sorted(r for r, held in ctx.roles.items() if held & roles)
            key = (n, item["village_code"], order.get(stage, 9), pos)
            req = Request(
                item["subject"], item["subject_id"], stage, "", "approve", None, decided_on
            )
            waiting.append((key, req, holders))
    signed: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for k in itertools.count():
        tried = [(key, replace(req, reviewer_id=h[k])) for key, req, h in waiting if k < len(h)]
        if not tried:
            return signed
        accepted = _approve(session, [r for _key, r in tried], cycle_year, county, decided_on)
        signed += [
            (key[:3] + (k,) + key[3:], _row(r))
            for key, r in tried
            if (r.subject, r.subject_id) in accepted
        ]
        waiting = [w for w in waiting if (w[1].subject, w[1].subject_id) not in accepted]
    return signed


def _approve(
    session: Session,
    reqs: list[Request],
    cycle_year: int,
    county: str,
    decided_on: date,
) -> set[tuple[str, str]]:
    """Approve what may be approved of `reqs` (written only inside the caller's
    transaction, which draft_minutes rolls back): judged all or nothing, the refused are
    dropped and the rest judged again, until a batch goes through whole."""
    while reqs:
        res = decide(
            session,
            reqs,
            cycle_year=cycle_year,
            channel="file",
            county=county,
            today=decided_on,
            all_or_nothing=True,
        )
        if res.applied:
            return {(r.subject, r.subject_id) for r in reqs}
        ok = [o.request for o in res.outcomes if o.verdict.accepted]
        if len(ok) == len(reqs):  # refused though every verdict accepted: never loop
            return set()
        reqs = ok
    return set()


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
