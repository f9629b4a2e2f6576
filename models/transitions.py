"""Allowed state transitions, declared as data (in the manner of Prefect's orchestration
policies): a status change not listed here is refused, whoever asks for it."""

from __future__ import annotations

from collections.abc import Mapping


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow."""


STRATEGY: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"team_signed", "returned", "rejected"}),
    "team_signed": frozenset({"committee_signed", "returned", "rejected"}),
    "committee_signed": frozenset({"approved", "returned", "rejected"}),
    # An objection in the publicity window sends an approved strategy back.
    "approved": frozenset({"returned"}),
    "returned": frozenset({"draft"}),
    "rejected": frozenset(),
}

# A version no longer current (动态调整): an approved revision supersedes the version it
# revises, which comes back into force if an objection sends the revision back. Apart from
# STRATEGY, whose chain the review stages are read off.
STRATEGY_VERSION: Mapping[str, frozenset[str]] = {
    "approved": frozenset({"superseded"}),
    "superseded": frozenset({"approved"}),
}

PLAN: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"team_signed", "returned", "rejected"}),
    "team_signed": frozenset({"committee_signed", "returned", "rejected"}),
    "committee_signed": frozenset({"township_approved", "returned", "rejected"}),
    "township_approved": frozenset({"approved", "returned", "rejected"}),
    "approved": frozenset({"returned"}),
    "returned": frozenset({"draft"}),
    "rejected": frozenset(),
}

TEAM: Mapping[str, frozenset[str]] = {
    "active": frozenset({"ended", "recalled"}),
    "ended": frozenset(),
    "recalled": frozenset(),
}

HOUSEHOLD: Mapping[str, frozenset[str]] = {
    "poor": frozenset({"exited"}),
    "exited": frozenset({"relapsed"}),
    "relapsed": frozenset({"exited"}),
    "non_poor": frozenset({"poor"}),
}

MONITORING: Mapping[str, frozenset[str]] = {
    # found → announced by its `monitor` procedure (纳入监测), or refused by it
    "pending": frozenset({"open", "rejected"}),
    # 风险消除: only when its `relieve` procedure is announced
    "open": frozenset({"closed"}),
    "closed": frozenset(),
    "rejected": frozenset(),
}

# A monitoring clue (MonitoringClue) becomes a case or is dismissed; it never disappears.
CLUE: Mapping[str, frozenset[str]] = {
    "open": frozenset({"case", "dismissed"}),
    "case": frozenset(),
    "dismissed": frozenset(),
}

MACHINES: Mapping[str, Mapping[str, frozenset[str]]] = {
    "strategy": STRATEGY,
    "strategy_version": STRATEGY_VERSION,
    "plan": PLAN,
    "team": TEAM,
    "household": HOUSEHOLD,
    "monitoring": MONITORING,
    "clue": CLUE,
}


def allowed(machine: str, current: str, new: str) -> bool:
    return new in MACHINES[machine].get(current, frozenset())


def check_transition(machine: str, current: str, new: str) -> None:
    """Raise IllegalTransition unless `machine` allows current → new."""
    states = MACHINES[machine]
    if current not in states:
        raise IllegalTransition(f"{machine}: unknown state {current!r}")
    if new not in states:
        raise IllegalTransition(f"{machine}: unknown state {new!r}")
    if new not in states[current]:
        raise IllegalTransition(
            f"{machine}: {current} → {new} is not allowed "
            f"(allowed: {', '.join(sorted(states[current])) or 'none, final'})"
        )
