"""The review ledger: judge a batch of decisions with `zhucun.rules.review` and write the
ledger rows, status changes, escalations, publicity windows and audit rows in bulk; keep
the stage clock (`ReviewState`) in line. All three ways in (the UI form, the CLI, a
decisions file) end in `decide()`. Helpers never commit."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from zhucun.models import (
    Decision,
    Plan,
    PlanItem,
    Publicity,
    ReviewEscalation,
    Strategy,
)
from zhucun.models.transitions import check_transition
from zhucun.tasks.common import audit_many, current_flow_run_id, now
from zhucun.tasks.procedure_cases import run_crosschecks, set_case_status
from zhucun.tasks.review_load import (
    MODELS,
    SUBJECT_KEY,
    Key,
    ReviewError,
    _policy,
    load_contexts,
    load_escalations,
    load_history,
    load_items,
)
from zhucun.tasks.review_lock import begin_write, lock_villages, locks_villages, server_today
from zhucun.tasks.review_sync import escalation_audit, sync_states
from zhucun.tasks.sql import insert_ignore

from zhucun.policy import Policy
from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

# --- Deciding ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    request: rules.Request
    verdict: rules.Verdict
    row: int | None = None  # line in a decisions file
    skipped: str | None = None  # e.g. "already applied" (idempotent file re-import)
    person: str | None = None  # the reviewer's normalised ID number (never shown)
    seq: int | None = None  # accepted: the n-th accepted decision of its stage and version

    def summary(self) -> dict[str, Any]:
        r, v = self.request, self.verdict
        return dict(
            row=self.row,
            subject=r.subject,
            subject_id=r.subject_id,
            stage=r.stage,
            reviewer_id=r.reviewer_id,
            decision=r.decision,
            outcome="skipped" if self.skipped else ("accepted" if v.accepted else "refused"),
            refusal_reason=self.skipped or v.refusal,
            new_status=v.new_status,
            escalated_to=v.escalate[1] if v.escalate else None,
        )


@dataclass
class DecideResult:
    outcomes: list[Outcome] = field(default_factory=list)
    applied: bool = True
    # what the outcomes not kept counted (`add(keep=False)`: a long file's accepted rows)
    tally: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        return self.tally["accepted"] + sum(
            o.verdict.accepted and not o.skipped for o in self.outcomes
        )

    @property
    def refused(self) -> int:
        return sum(not o.verdict.accepted and not o.skipped for o in self.outcomes)

    def counts(self) -> dict[str, Any]:
        return dict(
            accepted=self.accepted,
            refused=self.refused,
            skipped=self.tally["skipped"] + sum(bool(o.skipped) for o in self.outcomes),
            applied=self.applied,
            status_changes=self.tally["status_changes"]
            + sum(bool(o.verdict.new_status) for o in self.outcomes if not o.skipped),
            escalations=self.tally["escalations"]
            + sum(bool(o.verdict.escalate) for o in self.outcomes),
        )

    def add(self, other: DecideResult, *, keep: bool = True) -> None:
        """Take in another batch's result; without `keep`, its accepted and skipped
        outcomes are only counted (the refused are always kept: they are the errors)."""
        self.applied = self.applied and other.applied
        self.tally.update(other.tally)
        if keep:
            self.outcomes += other.outcomes
            return
        for o in other.outcomes:
            if not o.verdict.accepted:
                self.outcomes.append(o)
                continue
            self.tally["skipped" if o.skipped else "accepted"] += 1
            self.tally["status_changes"] += bool(o.verdict.new_status) and not o.skipped
            self.tally["escalations"] += bool(o.verdict.escalate)


def _stage_order(policy: Policy, subject: str, stage: str) -> int:
    names = (
        [s.stage for s in rules.stages_for(policy, subject)] if subject in rules.SUBJECTS else []
    )
    return names.index(stage) if stage in names else 99


def decide(
    session: Session,
    requests: Sequence[rules.Request],
    *,
    cycle_year: int,
    channel: str,
    county: str | None = None,
    flow_run_id: str | None = None,
    received_at: datetime | None = None,
    today: date | None = None,
    all_or_nothing: bool = False,
    rows: Sequence[int] | None = None,
    judge_only: bool = False,
) -> DecideResult:
    """Judge `requests` in order (each sees the effect of the ones before it) and write the
    result: every accepted and refused decision as a ledger row, status changes with audit
    rows, escalations, publicity windows. With `all_or_nothing` (decisions files) nothing at
    all is written unless every request is accepted.

    Exactly once: the ledger is read under the review lock of the items' villages
    (`tasks.review_lock`), so a concurrent duplicate waits and is then refused "already
    decided". Should a writer slip past the lock, the partial unique indexes refuse the
    second accepted row; the batch is then judged again in a savepoint and the duplicate
    ends refused, never a second accepted row, never a traceback. With `judge_only`
    the verdicts are returned and nothing is written.

    `today` is the server's date (Asia/Shanghai) unless a test fixes it; it is never a
    user's input: decisions may not be dated after it, and publicity windows open on it."""
    received_at = received_at or now()
    today = today or server_today(received_at)
    flow_run_id = flow_run_id if flow_run_id is not None else current_flow_run_id()
    if not requests:
        return DecideResult()
    begin_write(session)
    keys = {(r.subject, r.subject_id) for r in requests if r.subject in rules.SUBJECTS}
    if locks_villages(session):  # SQLite: BEGIN IMMEDIATE above is the lock, no read needed
        first = load_items(session, cycle_year, keys=keys)
        lock_villages(session, cycle_year, {i.village_code for i in first.values()})
    for attempt in range(2):
        try:
            with session.begin_nested():
                result, items, new_escalations, policy = _judge(
                    session, requests, keys, cycle_year, county, today, rows
                )
                if judge_only or (all_or_nothing and result.refused):
                    result.applied = False
                    return result
                _write(
                    session,
                    result,
                    items,
                    new_escalations,
                    policy=policy,
                    cycle_year=cycle_year,
                    channel=channel,
                    flow_run_id=flow_run_id,
                    received_at=received_at,
                    today=today,
                )
                return result
        except IntegrityError as exc:  # errors are told safely (zhucun.db): no index name
            if attempt:
                raise ReviewError(
                    "a concurrent decision on the same items was recorded first: "
                    "already decided, nothing written; list the items and try again"
                ) from exc
    raise AssertionError("unreachable")


def _judge(
    session: Session,
    requests: Sequence[rules.Request],
    keys: set[Key],
    cycle_year: int,
    county: str | None,
    today: date,
    rows: Sequence[int] | None,
) -> tuple[
    DecideResult, dict[Key, rules.Item], dict[tuple[Key, str], tuple[str, str, str]], Policy
]:
    """Read the items and the ledger (under the lock) and judge each request in order."""
    result = DecideResult()
    items = load_items(session, cycle_year, keys=keys)
    if county:
        items = {k: i for k, i in items.items() if i.village_code.startswith(county)}
    villages = sorted({i.village_code for i in items.values()})
    policy = _policy(session, county or (villages[0][:6] if villages else None), cycle_year)
    contexts = load_contexts(session, villages, policy, cycle_year)
    history = load_history(session, cycle_year, villages)
    escalations = load_escalations(session, cycle_year, villages)
    full = rules.ladder(policy)
    new_escalations: dict[tuple[Key, str], tuple[str, str, str]] = {}

    for n, req in enumerate(requests):
        key = (req.subject, req.subject_id)
        item = items.get(key)
        ctx = contexts.get(item.village_code) if item else None
        esc = dict(escalations.get(key, {}))
        if item is not None and ctx is not None:
            own = rules.stages_for(policy, item.subject)
            for stage, (level, _why) in rules.standing_escalations(item, ctx, full, own).items():
                esc.setdefault(stage, level)
        past = history.get(key, [])
        verdict = rules.validate(
            req, item, ctx, policy=policy, history=past, escalations=esc, today=today
        )
        person = ctx.person(req.reviewer_id) if ctx else None
        outcome = Outcome(req, verdict, rows[n] if rows else None, person=person)
        result.outcomes.append(outcome)
        if item is None:
            continue
        if verdict.escalate:
            stage, level, why = verdict.escalate
            escalations.setdefault(key, {})[stage] = level
            new_escalations[(key, stage)] = (item.village_code, level, why)
        if verdict.accepted:
            outcome.seq = 1 + sum(p.stage == req.stage and p.version == item.version for p in past)
            history.setdefault(key, []).append(
                rules.Past(
                    req.reviewer_id, req.stage, item.version, req.decision, person, req.decided_on
                )
            )
            if verdict.new_status:
                items[key] = replace(item, status=verdict.new_status)
    return result, items, new_escalations, policy


def _write(
    session: Session,
    result: DecideResult,
    items: Mapping[Key, rules.Item],
    new_escalations: Mapping[tuple[Key, str], tuple[str, str, str]],
    *,
    policy: Policy,
    cycle_year: int,
    channel: str,
    flow_run_id: str | None,
    received_at: datetime,
    today: date,
) -> None:
    ledger, audit = [], []
    changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    publicity = []
    version_of: dict[Key, int] = {}
    for o in result.outcomes:
        r, v = o.request, o.verdict
        item = items.get((r.subject, r.subject_id))
        village = item.village_code if item else ""
        version = item.version if item else 0
        version_of[(r.subject, r.subject_id)] = version
        ledger.append(
            dict(
                stage=r.stage[:12],
                subject=r.subject[:10],
                subject_id=r.subject_id[:32],
                cycle_year=cycle_year,
                version=version,
                village_code=village,
                reviewer_id=r.reviewer_id[:32] or "?",
                person=o.person,
                seq=o.seq if v.accepted else None,
                decision=r.decision[:10],
                reason=r.reason,
                decided_on=r.decided_on,
                received_at=received_at,
                channel=channel,
                flow_run_id=flow_run_id,
                outcome="accepted" if v.accepted else "refused",
                refusal_reason=v.refusal,
                details=dict(r.details) if r.details else None,
            )
        )
        if v.accepted and v.new_status and item is not None:
            changes[r.subject].append(
                dict(
                    subject_id=r.subject_id,
                    status=v.new_status,
                    reason=r.reason if v.new_status in ("returned", "rejected") else None,
                )
            )
            audit.append(
                dict(
                    actor=f"reviewer:{r.reviewer_id}",
                    action=f"review.{r.decision}",
                    entity=r.subject,
                    entity_id=f"{r.subject_id}/{cycle_year}",
                    after={
                        "status": v.new_status,
                        "stage": r.stage,
                        "version": version,
                        "channel": channel,
                    },
                )
            )
            if v.final_approval:
                # The window opens on the server's date the item is approved: a
                # backdated decision must not shorten (or skip) the 公示.
                opens, closes = rules.publicity_window(today, policy)
                publicity.append(
                    dict(
                        subject=r.subject,
                        subject_id=r.subject_id,
                        cycle_year=cycle_year,
                        version=version,
                        village_code=village,
                        opens_on=opens,
                        closes_on=closes,
                        status="open",
                    )
                )
    # The audit "before" of each change: the status it left, in decision order.
    first_status: dict[Key, str] = {}
    for o in result.outcomes:
        k = (o.request.subject, o.request.subject_id)
        if k not in first_status and k in items:
            first_status[k] = items[k].status
    if ledger:
        session.execute(insert(Decision.__table__), ledger)  # Core: no ORM bulk path
    for subject, rows in changes.items():
        if subject in proc.PROCEDURES:
            set_case_status(session, subject, cycle_year, rows, policy=policy, today=today)
        else:
            _set_status(session, subject, cycle_year, rows)
    if any(subject in proc.PROCEDURES for subject in changes):
        run_crosschecks(session, cycle_year, policy=policy, today=today)
    if new_escalations:
        esc_rows = [
            dict(
                subject=k[0],
                subject_id=k[1],
                cycle_year=cycle_year,
                village_code=village,
                stage=stage,
                level=level,
                reason=why,
                at=received_at,
            )
            for (k, stage), (village, level, why) in new_escalations.items()
        ]
        insert_ignore(
            session, ReviewEscalation, esc_rows, ("subject", "subject_id", "cycle_year", "stage")
        )
        audit += [escalation_audit(r, cycle_year) for r in esc_rows]
    if publicity:
        insert_ignore(
            session,
            Publicity,
            publicity,
            ("subject", "subject_id", "cycle_year", "version", "stage"),
        )
        audit += [
            dict(
                actor="zhucun:review",
                action="publicity.opened",
                entity=p["subject"],
                entity_id=f"{p['subject_id']}/{cycle_year}",
                after={"opens_on": str(p["opens_on"]), "closes_on": str(p["closes_on"])},
            )
            for p in publicity
        ]
    audit_many(session, audit)
    touched = sorted({items[k].village_code for k in first_status})
    if touched:
        sync_states(session, cycle_year, touched, policy=policy, at=received_at)


def _set_status(
    session: Session, subject: str, cycle_year: int, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Bulk status updates, the last change of an item winning."""
    model = MODELS[subject]
    last = {r["subject_id"]: r for r in rows}
    by_status: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for sid, r in last.items():
        by_status[(r["status"], r["reason"])].append(sid)
    for (status, reason), sids in by_status.items():
        values: dict[str, Any] = {"status": status}
        if subject == "strategy" and status == "returned":
            values["return_reason"] = reason
        where = [SUBJECT_KEY[subject].in_(sids), model.cycle_year == cycle_year]
        if subject == "strategy":
            where.append(Strategy.is_current)  # the version under review
        session.execute(update(model).where(*where).values(**values))
        if subject == "strategy":
            _supersede(session, cycle_year, sids)
        if subject == "plan":
            plan_ids = select(Plan.id).where(
                Plan.village_code.in_(sids), Plan.cycle_year == cycle_year
            )
            session.execute(
                update(PlanItem).where(PlanItem.plan_id.in_(plan_ids)).values(status=status)
            )


def _supersede(session: Session, cycle_year: int, sids: Sequence[str]) -> None:
    """An approved revision (动态调整) supersedes the version it revises; a revision sent
    back (an objection in its window) puts that version back in force."""
    for revision_status, old, new in (("approved", "approved", "superseded"),
                                      ("returned", "superseded", "approved")):  # fmt: skip
        check_transition("strategy_version", old, new)
        target = select(Strategy.supersedes).where(
            Strategy.household_id.in_(sids),
            Strategy.cycle_year == cycle_year,
            Strategy.is_current,
            Strategy.status == revision_status,
            Strategy.supersedes.is_not(None),
        )
        session.execute(
            update(Strategy)
            .where(Strategy.id.in_(target), Strategy.status == old)
            .values(status=new)
        )
