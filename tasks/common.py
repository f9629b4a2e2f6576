"""Helpers every task uses: the scope of a run, batching, the audit trail, run identity."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, field_validator
from sqlalchemy import insert, select
from sqlmodel import Session
from zhucun.models import AuditEvent, County, Village

T = TypeVar("T")


def cut_chunks(loads: Iterable[tuple[T, int]], size: int, most: int | None = None) -> list[list[T]]:
    """Consecutive keys cut into chunks of about `size` load (a key heavier than `size`
    alone in its chunk), at most `most` keys a chunk: how every stage sizes its chunks."""
    out: list[list[T]] = []
    current: list[T] = []
    load = 0
    for key, n in loads:
        if current and (load + n > size or (most is not None and len(current) >= most)):
            out.append(current)
            current, load = [], 0
        current.append(key)
        load += n
    if current:
        out.append(current)
    return out


class Scope(BaseModel):
    """What a run covers: one county, optionally narrowed to some of its villages."""

    county: str
    villages: list[str] | None = None

    @field_validator("county", mode="before")
    @classmethod
    def _county(cls, v: Any) -> str:
        v = str(v).strip()
        if not re.fullmatch(r"\d{6}", v):
            raise ValueError(f"county code must be 6 digits, got {v!r}")
        return v

    @field_validator("villages", mode="before")
    @classmethod
    def _villages(cls, v: Any) -> list[str] | None:
        if v is None or v == []:
            return None
        codes = [str(c).strip() for c in v]
        bad = [c for c in codes if not re.fullmatch(r"\d{12}", c)]
        if bad:
            raise ValueError(f"village codes must be 12 digits: {', '.join(bad[:5])}")
        return codes

    @property
    def label(self) -> str:
        """For run names and artifact keys: the county, or the county and a village count."""
        return self.county if not self.villages else f"{self.county}-{len(self.villages)}v"


def village_codes(session: Session, scope: Scope, *, poor_only: bool = False) -> list[str]:
    """The village codes a scope covers, sorted (stable batches, stable reruns)."""
    stmt = select(Village.village_code).where(Village.county_code == scope.county)
    if scope.villages:
        stmt = stmt.where(Village.village_code.in_(scope.villages))
    if poor_only:
        stmt = stmt.where(Village.registered_poor.is_(True))
    return list(session.scalars(stmt.order_by(Village.village_code)))


def county_region(session: Session, county: str) -> tuple[str, str]:
    """(region, 2-digit province code) of a county, for choosing the policy in force."""
    c = session.get(County, county)
    if c is None:
        raise LookupError(f"county {county} is not in the database: import its registry first")
    return c.region, county[:2]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def current_flow_run_id() -> str | None:
    """The Prefect flow run this code runs in, for the ledger and audit; None outside one."""
    try:
        from prefect.runtime import flow_run

        rid = flow_run.get_id()
    except Exception:  # noqa: BLE001 - outside Prefect entirely
        return None
    return str(rid) if rid else None


def now() -> datetime:
    return datetime.now(UTC)


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Append one audit row. Never put ID numbers, phones or health details in before/after."""
    audit_many(
        session,
        [
            dict(
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after,
            )
        ],
    )


def audit_many(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Append audit rows in one bulk insert; returns how many. The caller commits."""
    at, run = now(), current_flow_run_id()
    batch = [{"at": at, "flow_run_id": run, "before": None, "after": None, **r} for r in rows]
    if batch:  # Core on the table: the ORM bulk path cost 70 µs a row
        session.execute(insert(AuditEvent.__table__), batch)
    return len(batch)


def chunk_audit(
    actor: str,
    action: str,
    entity: str,
    county: str,
    cycle_year: int,
    villages: Sequence[str],
    **after: Any,
) -> dict[str, Any]:
    """The one audit row of a chunk's rule-drafted rows: its scope (county, cycle, villages)
    and what `after` says (counts, rule and policy versions)."""
    return dict(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=f"{county}/{cycle_year}/{villages[0]}..{villages[-1]}",
        after={"villages": list(villages), **after},
    )


# `zhucun demo` marks each county it generated with one audit row: the demo guard refuses
# any other county, and only a marked county may run on a compressed calendar.
DEMO_ACTOR, DEMO_ACTION = "zhucun demo", "demo-generated"


def demo_marked(session: Session, county: str) -> bool:
    return (
        session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.actor == DEMO_ACTOR,
                AuditEvent.action == DEMO_ACTION,
                AuditEvent.entity_id == county,
            )
        )
        is not None
    )
