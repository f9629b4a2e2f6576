"""The ways into a procedure and out to people: a household applies (identification), the
evaluation's 预退出 list opens exit cases, sector findings arrive for the cross-check, and
the cases are listed by stage. Decisions go through `tasks.review_ledger.decide` like any
review. Helpers take a `session` and never commit."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session
from zhucun.models import CrossCheckFinding, Household, ProcedureCase, Village
from zhucun.models.evaluation import ExitProposal
from zhucun.tasks.common import audit_many, now
from zhucun.tasks.procedure_cases import open_cases, run_crosschecks
from zhucun.tasks.review_load import ReviewError, policy_for
from zhucun.tasks.review_lock import server_today
from zhucun.tasks.sql import insert_ignore

from zhucun.privacy import mask_text
from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

FINDING_COLUMNS = ("household_id", "kind", "source", "found_on", "detail")


def apply_identification(
    session: Session, household_ids: Sequence[str], *, cycle_year: int, today: date | None = None
) -> dict[str, Any]:
    """农户申请: open an identification case for each household that may apply — known, not
    registered poor now. Refusals are told per household, nothing is opened for them."""
    today = today or server_today(now())
    ids = sorted({h.strip() for h in household_ids if h.strip()})
    known = {
        r.household_id: r
        for r in session.execute(
            select(Household.household_id, Household.village_code, Household.status).where(
                Household.household_id.in_(ids)
            )
        )
    }
    refused = {}
    rows = []
    for h in ids:
        r = known.get(h)
        if r is None:
            refused[h] = "no such household in the registry"
        elif r.status in ("poor", "relapsed"):
            refused[h] = f"the household is already registered poor ({r.status})"
        else:
            rows.append(dict(subject_id=h, village_code=r.village_code))
    opened = 0
    if rows:
        county = rows[0]["village_code"][:6]
        policy = policy_for(session, county, cycle_year)
        opened = open_cases(session, "identify", rows, cycle_year=cycle_year,
                            origin="application", policy=policy, today=today)  # fmt: skip
    return {"applied": len(rows), "opened": opened, "refused": refused}


def propose_exits(
    session: Session, county: str, period: str, *, today: date | None = None
) -> dict[str, Any]:
    """Open an exit case for each household on the evaluation's 预退出 list of `period`
    (the proposal stays `proposed` until its case ends: exited or refused)."""
    today = today or server_today(now())
    cycle_year = int(period[:4])
    rows = [
        dict(subject_id=r.household_id, village_code=r.village_code)
        for r in session.execute(
            select(ExitProposal.household_id, ExitProposal.village_code).where(
                ExitProposal.period == period,
                ExitProposal.status == "proposed",
                ExitProposal.village_code.like(f"{county}%"),
            )
        )
    ]
    if not rows:
        return {"proposed": 0, "opened": 0}
    policy = policy_for(session, county, cycle_year)
    opened = open_cases(session, "exit", rows, cycle_year=cycle_year, origin="evaluation",
                        policy=policy, today=today)  # fmt: skip
    return {"proposed": len(rows), "opened": opened}


def import_findings(session: Session, path: Path) -> dict[str, Any]:
    """A sector cross-check file (household_id, kind, source, found_on, detail): every row is
    checked before anything is written; a bad one is one line `file:row:column: rule`."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in FINDING_COLUMNS[:4] if c not in (reader.fieldnames or [])]
        if missing:
            raise ReviewError(f"{path.name}:1:{missing[0]}: required column missing")
        raw = list(reader)
    known = set(
        session.scalars(
            select(Household.household_id).where(
                Household.household_id.in_([(r.get("household_id") or "").strip() for r in raw])
            )
        )
    )
    rows = []
    for n, r in enumerate(raw, start=2):
        hid = (r.get("household_id") or "").strip()
        if hid not in known:
            raise ReviewError(f"{path.name}:{n}:household_id: no such household {hid!r}")
        kind = (r.get("kind") or "").strip()
        if not kind:
            raise ReviewError(f"{path.name}:{n}:kind: a finding needs its kind")
        try:
            found_on = date.fromisoformat((r.get("found_on") or "").strip())
        except ValueError:
            raise ReviewError(f"{path.name}:{n}:found_on: not a date (YYYY-MM-DD)") from None
        detail = (r.get("detail") or "").strip()
        if mask_text(detail) != detail:  # the masking every free text gets, as a refusal
            raise ReviewError(
                f"{path.name}:{n}:detail: holds an ID, phone or bank number; leave it out"
            )
        rows.append(dict(household_id=hid, kind=kind, source=(r.get("source") or "").strip()
                         or "unknown", found_on=found_on, detail=detail))  # fmt: skip
    before = session.scalar(select(func.count()).select_from(CrossCheckFinding)) or 0
    insert_ignore(session, CrossCheckFinding, rows, ("household_id", "kind", "source"))
    added = (session.scalar(select(func.count()).select_from(CrossCheckFinding)) or 0) - before
    audit_many(session, [dict(actor="zhucun:file", action="crosscheck.imported",
                              entity="crosscheck", entity_id=path.name,
                              after={"rows": len(rows), "added": added})])  # fmt: skip
    return {"rows": len(rows), "added": added}


def run_automatic(session: Session, county: str, cycle_year: int) -> dict[str, int]:
    """The automatic stages that can move now (the cross-check)."""
    policy = policy_for(session, county, cycle_year)
    return run_crosschecks(session, cycle_year, policy=policy, today=server_today(now()),
                           county=county)  # fmt: skip


# --- Cases across the year boundary -------------------------------------------------------
# A case keeps the cycle year it was opened in (its ledger and windows are keyed by it), but
# the work does not stop at New Year: a case opened in December is decided in January. So
# when no year is given, the daily flow and the CLI take every *open* case, whatever its
# year (not only the previous one: a case left open for longer must still move and show,
# never drop out of sight), and the closed cases of the current year.
ENDED = (proc.DONE, proc.REJECTED)


def open_years(session: Session, county: str) -> list[int]:
    """The cycle years that have an open case in the county (one small query)."""
    return sorted(
        session.scalars(
            select(ProcedureCase.cycle_year)
            .where(
                ProcedureCase.village_code.like(f"{county}%"),
                ProcedureCase.status.not_in(ENDED),
            )
            .distinct()
        )
    )


def case_years(session: Session, procedure: str, subject_ids: Iterable[str]) -> dict[str, int]:
    """The cycle year of each subject's case of `procedure`: its open case's, else its latest
    case's (so a refusal names the case that ended). Subjects without a case are left out."""
    out: dict[str, tuple[bool, int]] = {}
    ids = sorted(set(subject_ids))
    for part in range(0, len(ids), 500):
        for sid, year, status in session.execute(
            select(ProcedureCase.subject_id, ProcedureCase.cycle_year, ProcedureCase.status).where(
                ProcedureCase.procedure == procedure,
                ProcedureCase.subject_id.in_(ids[part : part + 500]),
            )
        ):
            rank = (status not in ENDED, year)
            out[sid] = max(out.get(sid, rank), rank)
    return {sid: year for sid, (_open, year) in out.items()}


def list_cases(
    session: Session,
    county: str,
    procedure: str,
    cycle_year: int | None,
    *,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """Cases with where they stand, names next to codes, never an ID number. Without a
    cycle year: the open cases of every year and the cases of `today`'s year."""
    this_year = (today or server_today(now())).year
    policy = policy_for(session, county, cycle_year or this_year)
    in_year = (
        ProcedureCase.cycle_year == cycle_year
        if cycle_year
        else or_(ProcedureCase.status.not_in(ENDED), ProcedureCase.cycle_year == this_year)
    )
    zh = {s.stage: s.zh or s.stage for s in rules.stages_for(policy, procedure)}
    zh |= {proc.DONE: "已公告", proc.REJECTED: "未通过"}
    rows = session.execute(
        select(
            ProcedureCase.subject_id,
            ProcedureCase.village_code,
            Village.name,
            ProcedureCase.status,
            ProcedureCase.version,
            ProcedureCase.opened_on,
            ProcedureCase.closed_on,
            ProcedureCase.reason,
            ProcedureCase.cycle_year,
            Household.head_name,
        )
        .outerjoin(Village, Village.village_code == ProcedureCase.village_code)
        .outerjoin(Household, Household.household_id == ProcedureCase.subject_id)
        .where(
            ProcedureCase.procedure == procedure,
            in_year,
            ProcedureCase.village_code.like(f"{county}%"),
        )
        .order_by(ProcedureCase.village_code, ProcedureCase.subject_id, ProcedureCase.cycle_year)
    )
    return [
        dict(
            procedure=procedure,
            cycle_year=r.cycle_year,
            subject_id=r.subject_id,
            head_name=r.head_name or "",
            village_code=r.village_code,
            village_name=r.name or "",
            status=r.status,
            status_zh=zh.get(r.status, r.status),
            version=r.version,
            opened_on=str(r.opened_on),
            closed_on=str(r.closed_on) if r.closed_on else None,
            reason=r.reason,
        )
        for r in rows
    ]
