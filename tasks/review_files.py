"""Decisions files (meeting minutes, decisions.csv or .xlsx): parsed with errors as
`file:row:column: rule`, applied all or nothing through `decide()`, and applied once: the
file's sha256 is recorded in `AppliedFile` (unique) in the same transaction, under a lock
on that hash, so two imports of one file at once apply it once and the other reports
"already applied on …"."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from zhucun.models.audit import AppliedFile
from zhucun.tasks import review_file_rows as F
from zhucun.tasks.common import current_flow_run_id, now
from zhucun.tasks.review_ledger import DecideResult, Outcome, _stage_order, decide
from zhucun.tasks.review_load import FILE_COLUMNS, ReviewError, _policy, policy_for
from zhucun.tasks.review_lock import CHINA, begin_write, lock_key, lock_villages, locks_villages
from zhucun.tasks.sql import temporary_tables

from zhucun.exchange.reader import message
from zhucun.rules import review as rules

# Optional columns a procedure stage records (民主评议's tally, who acknowledged an exit).
DETAIL_COLUMNS = ("representatives", "present", "in_favour", "acknowledged_by")
# Items per `decide` of a file: memory and every statement's bound keys stay a chunk's.
ITEMS_PER_DECIDE = 5_000

# --- Decisions files ---------------------------------------------------------------------


@dataclass
class FileResult:
    errors: list[str] = field(default_factory=list)
    result: DecideResult | None = None
    already_applied: str | None = None  # "already applied on …": nothing was done

    @property
    def ok(self) -> bool:
        return not self.errors


def read_decisions_file(path: Path) -> tuple[list[rules.Request], list[int], list[str]]:
    """Parse decisions.csv (UTF-8, UTF-8 with BOM or GB18030, detected; or the first sheet
    of an .xlsx); errors as `file:row:column: rule`, never a traceback."""
    errors: list[str] = []
    parsed = list(parse_decisions(path, errors))
    if errors:
        return [], [], errors
    return [r for _, r in parsed], [n for n, _ in parsed], errors


def parse_decisions(path: Path, errors: list[str]) -> Iterator[tuple[int, rules.Request]]:
    """(line, request) of each row, read as they come; a row's errors go to `errors` (a
    file with any error is refused whole, so what was yielded is then thrown away)."""
    from zhucun.exchange.sources import SourceError, open_table

    name = path.name
    try:
        fh = open_table(path)
    except SourceError as exc:
        errors.append(f"{name}:{exc.line}:*: {exc.rule}")
        return
    with fh:
        try:
            yield from _read_decisions(fh, fh.label, errors)
        except SourceError as exc:  # a bad byte late in the file, a broken quote
            errors.append(f"{fh.label}:{exc.line}:*: {exc.rule}")


def _read_decisions(fh: Any, name: str, errors: list[str]) -> Iterator[tuple[int, rules.Request]]:
    header = fh.read_header() or []
    missing = [c for c in FILE_COLUMNS if c not in header]
    unknown = [c for c in header if c not in FILE_COLUMNS and c not in DETAIL_COLUMNS]
    errors += [message(name, 1, c, "missing column") for c in missing]
    errors += [message(name, 1, c, "unknown column") for c in unknown]
    if missing or unknown:
        return
    for line, cells in fh.rows():
        row = {k: (v or "").strip() for k, v in zip(header, cells, strict=False) if k}
        for c in ("stage", "subject", "subject_id", "reviewer_id", "decision", "decided_on"):
            if not row.get(c):
                errors.append(message(name, line, c, "required"))
        try:
            decided = date.fromisoformat(row.get("decided_on", ""))
        except ValueError:
            if row.get("decided_on"):
                errors.append(f"{name}:{line}:decided_on: not a date YYYY-MM-DD")
            continue
        details: dict[str, object] = {}
        for c in DETAIL_COLUMNS:
            if row.get(c):
                value = row[c]
                if c != "acknowledged_by" and not value.isdigit():
                    errors.append(message(name, line, c, "a whole number"))
                    continue
                details[c] = int(value) if c != "acknowledged_by" else value
        yield (
            line,
            rules.Request(
                row["subject"],
                row["subject_id"],
                row["stage"],
                row["reviewer_id"],
                row["decision"],
                row.get("reason") or None,
                decided,
                details or None,
            ),
        )


def apply_decisions_file(
    session: Session,
    path: Path,
    *,
    cycle_year: int,
    county: str | None = None,
    flow_run_id: str | None = None,
    received_at: datetime | None = None,
    today: date | None = None,
    keep_outcomes: bool = True,
) -> FileResult:
    """All or nothing: every row judged exactly as a UI decision, in the order the minutes
    were taken (date, then stage); nothing is written unless all rows are accepted. A row
    that was already applied (same accepted decision in the ledger) is skipped, so a
    re-import of the same file changes nothing; the very same file (by sha256) is not even
    judged again. Without `keep_outcomes` (a flow's task) the accepted rows are counted,
    not kept: memory stays one chunk's however long the minutes. A refused file rolls
    back the session's transaction: begin one for the file alone."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    begin_write(session)
    lock_key(session, f"decisions-file:{sha}")
    before = session.execute(
        select(AppliedFile.applied_at, AppliedFile.name, AppliedFile.decisions).where(
            AppliedFile.sha256 == sha
        )
    ).first()
    note = None
    if before is not None:
        when = before.applied_at
        when = (when if when.tzinfo else when.replace(tzinfo=now().tzinfo)).astimezone(CHINA)
        note = f"already applied on {when:%Y-%m-%d %H:%M} (as {before.name})"
        if not keep_outcomes:  # a file applied once had no error: not even parsed again
            counted = DecideResult(tally=Counter(skipped=before.decisions))
            return FileResult([], counted, already_applied=note)
    policy = (
        policy_for(session, county, cycle_year) if county else _policy(session, None, cycle_year)
    )
    errors: list[str] = []
    with temporary_tables(session, F.FILE_ROWS):
        F.store(
            session,
            parse_decisions(path, errors),
            lambda subject, stage: _stage_order(policy, subject, stage),
        )
        if errors:
            return FileResult(errors)
        if note is not None:
            session.execute(update(F.FILE_ROWS).values(done=1))
            return FileResult([], _skipped(session, note, keep_outcomes), already_applied=note)
        F.mark(session, cycle_year)
        result = _decide_by_villages(
            session,
            cycle_year=cycle_year,
            county=county,
            flow_run_id=flow_run_id if flow_run_id is not None else current_flow_run_id(),
            received_at=received_at or now(),
            today=today,
            keep=keep_outcomes,
        )
        result.add(_skipped(session, "already applied", keep_outcomes))
    if not result.applied:  # chunks before the refusal were written: nothing may stay
        session.rollback()
    for o in result.outcomes:
        if not o.verdict.accepted:
            errors.append(f"{path.name}:{o.row}:{o.verdict.column or '-'}: {o.verdict.refusal}")
    if not errors:
        _record_file(session, sha, path.name, cycle_year, result.accepted, flow_run_id)
    return FileResult(sorted(errors, key=_row_of), result)


def _skipped(session: Session, note: str, keep: bool) -> DecideResult:
    """The rows already applied: an outcome each, or (not `keep`) their number."""
    if not keep:
        f = F.FILE_ROWS.c
        n = session.scalar(select(func.count()).where(f.done == 1)) or 0
        return DecideResult(tally=Counter(skipped=n))
    return DecideResult(
        [
            Outcome(r, rules.Verdict(True), n, skipped=note)
            for n, r in F.requests(session, [], done=True)
        ]
    )


def _decide_by_villages(
    session: Session,
    *,
    cycle_year: int,
    county: str | None,
    flow_run_id: str | None,
    received_at: datetime,
    today: date | None,
    keep: bool,
) -> DecideResult:
    """`decide` the file's rows a chunk of villages at a time (about ITEMS_PER_DECIDE items
    each). A village's items, and all of an item's rows, share a chunk, in the minutes'
    order, and no rule reads another village's items: so each chunk is judged as one
    `decide` of the whole file would judge it, while what is held in memory and every list
    of keys bound in a statement stay one chunk's. Once a chunk refuses, the later chunks
    are only judged (every error is reported) and the caller rolls everything back. Not a
    savepoint around the whole write: SQLite would keep a copy of every page it changes in
    memory, 400 MB more for a county of 200,000 households. The review locks of all the
    file's villages are taken first, in order, as one `decide` would take them."""
    if locks_villages(session):  # SQLite: BEGIN IMMEDIATE is the lock
        lock_villages(session, cycle_year, F.villages(session))
    result = DecideResult()
    for chunk in F.chunks(session, ITEMS_PER_DECIDE):
        part = list(F.requests(session, chunk))
        if part:
            res = decide(
                session,
                [r for _, r in part],
                cycle_year=cycle_year,
                channel="file",
                county=county,
                flow_run_id=flow_run_id,
                received_at=received_at,
                today=today,
                all_or_nothing=True,
                rows=[n for n, _ in part],
                judge_only=not result.applied,
            )
            result.add(res, keep=keep)
    return result


def _record_file(
    session: Session, sha: str, name: str, cycle_year: int, decisions: int, run: str | None
) -> None:
    """The file is applied: a second apply, by anyone, finds this row (unique sha256)."""
    try:
        with session.begin_nested():
            session.execute(
                insert(AppliedFile),
                [
                    dict(
                        sha256=sha,
                        name=name[:200],
                        cycle_year=cycle_year,
                        decisions=decisions,
                        applied_at=now(),
                        flow_run_id=run if run is not None else current_flow_run_id(),
                    )
                ],
            )
    except IntegrityError as exc:  # applied concurrently past the lock: undo this apply
        raise ReviewError(f"{name}: already applied by a concurrent import") from exc


def _row_of(error: str) -> int:
    try:
        return int(error.split(":")[1])
    except (IndexError, ValueError):
        return 0
