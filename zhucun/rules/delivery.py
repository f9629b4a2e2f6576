"""Delivery of a strategy's measures (措施落实), as pure functions.

Why this exists: an approved strategy is a promise; exit (退出) and the monitoring's risk
elimination (风险消除) must rest on what was actually delivered, never on a draft. So every
measure of an approved strategy has a delivery state — planned → in_delivery → delivered /
not_delivered — with the day, the amount actually spent, who recorded it and an evidence
note (masked: no ID, phone or bank numbers).

- Transitions are data (`DELIVERY`, in the manner of `models.transitions`); `planned` may
  jump to `delivered` (a one-off payment is delivered the day it starts). `not_delivered`
  may be taken up again (in_delivery) once the obstacle is gone; `delivered` is final.
- Who records: the household's designated helper (帮扶责任人) of the cycle, or a member of
  the village's active team — the same people who may sign the team stage of its review.
- Only measures of an *approved* strategy are delivered; a date may not precede the
  approval nor lie in the future.
- A measure still planned `measure_not_started_days` after approval is flagged (policy).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date

from zhucun.models.enums import DeliveryState, StrategyStatus
from zhucun.models.transitions import IllegalTransition
from zhucun.policy import Policy
from zhucun.privacy import mask_text

DELIVERY: Mapping[str, frozenset[str]] = {
    DeliveryState.planned: frozenset(
        {DeliveryState.in_delivery, DeliveryState.delivered, DeliveryState.not_delivered}
    ),
    DeliveryState.in_delivery: frozenset({DeliveryState.delivered, DeliveryState.not_delivered}),
    DeliveryState.not_delivered: frozenset({DeliveryState.in_delivery}),
    DeliveryState.delivered: frozenset(),
}
STATES = tuple(s.value for s in DeliveryState)
NOTE_MAX = 500


def check_delivery_transition(current: str, new: str) -> None:
    """Raise IllegalTransition unless a delivery may go from `current` to `new`."""
    if current not in DELIVERY or new not in DELIVERY:
        raise IllegalTransition(
            f"delivery: unknown state {new if current in DELIVERY else current!r}"
        )
    if new not in DELIVERY[current]:
        allowed = ", ".join(sorted(DELIVERY[current])) or "none, final"
        raise IllegalTransition(f"delivery: {current} → {new} is not allowed (allowed: {allowed})")


@dataclass(frozen=True)
class DeliveryRecord:
    """One record as typed on the command line or in a file."""

    household_id: str
    cycle_year: int
    measure: str
    state: str
    on: date
    spent_yuan: float | None
    recorded_by: str
    note: str = ""


@dataclass(frozen=True)
class Context:
    """What the rules need to judge a record, loaded by the task."""

    strategy_status: str | None  # None: no strategy this cycle
    approved_on: date | None
    measures: Set[str]  # the strategy's measures
    current_state: str  # the delivery's state now (planned when there is no row)
    recorders: Set[str]  # helper and active team members of the village (cadre IDs)


@dataclass(frozen=True)
class Problem:
    column: str
    message: str


def check_record(r: DeliveryRecord, ctx: Context, today: date) -> list[Problem]:
    """Every reason the record is refused; empty when it may be written."""
    out: list[Problem] = []
    if ctx.strategy_status is None:
        return [Problem("household", f"no strategy for {r.household_id} in {r.cycle_year}")]
    if ctx.strategy_status != StrategyStatus.approved:
        return [
            Problem(
                "household",
                f"the strategy is {ctx.strategy_status}: only an approved strategy is delivered",
            )
        ]
    if r.measure not in ctx.measures:
        names = ", ".join(sorted(ctx.measures))
        out.append(Problem("measure", f"{r.measure} is not a measure of the strategy ({names})"))
    if r.state not in STATES:
        out.append(Problem("state", f"state must be one of {', '.join(STATES)}"))
    else:
        try:
            check_delivery_transition(ctx.current_state, r.state)
        except IllegalTransition as exc:
            out.append(Problem("state", str(exc)))
    if r.on > today:
        out.append(Problem("on", f"{r.on} is in the future"))
    if ctx.approved_on and r.on < ctx.approved_on:
        out.append(Problem("on", f"{r.on} is before the approval ({ctx.approved_on})"))
    if r.spent_yuan is not None and r.spent_yuan < 0:
        out.append(Problem("spent", "the amount spent cannot be negative"))
    if r.state == DeliveryState.delivered and r.spent_yuan is None:
        out.append(Problem("spent", "a delivered measure needs the amount actually spent"))
    if r.recorded_by.strip() not in ctx.recorders:
        out.append(
            Problem(
                "by",
                f"{mask_text(r.recorded_by)} is neither the household's helper nor a member of "
                "the village's active team",
            )
        )
    if r.state == DeliveryState.not_delivered and not r.note.strip():
        out.append(Problem("note", "say why the measure was not delivered"))
    if len(r.note) > NOTE_MAX:
        out.append(Problem("note", f"at most {NOTE_MAX} characters"))
    return out


def clean_note(note: str) -> str:
    """The evidence note as stored: ID, phone and bank numbers masked."""
    return mask_text(note.strip())


def days_not_started(approved_on: date | None, state: str, today: date) -> int | None:
    """Days since approval of a measure still planned, else None."""
    if approved_on is None or state != DeliveryState.planned:
        return None
    return (today - approved_on).days


def not_started(approved_on: date | None, state: str, today: date, policy: Policy) -> int | None:
    """The days a measure is overdue to start (flag it), or None."""
    days = days_not_started(approved_on, state, today)
    if days is None or days < policy.measure_not_started_days:
        return None
    return days
