"""The dispatch cadre pool, loaded once per flow run instead of once per chunk.

Dispatch chunks run one after another in one process, each against the pool the previous
ones left. Re-reading every available cadre per chunk (46k cadres x 30 chunks at 200k
households) cost more than the matching itself, so the pool is kept in memory for the flow
run: after a chunk commits, its new team members leave the free pool and its helpers' cadres
gain caseload — exactly what a re-read would see. Before each chunk a cheap fingerprint
(helpers of the cycle, active members, available cadres) is compared with what the cache
expects; any difference (another county's run in a shared database, a row the insert
ignored, a rolled-back chunk) reloads the pool from the database. Outside a flow run
nothing is cached.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import Cadre, HelperAssignment, Relation, TeamMember
from zhucun.tasks.common import current_flow_run_id

from zhucun.rules import dispatch as rules


@dataclasses.dataclass
class PoolState:
    """The free pool of one flow run and cycle, as the database has it after the last
    committed chunk."""

    key: tuple[str, int, str, str | None]
    free: dict[str, rules.CadreInfo]  # available cadres in no active team, with caseload
    caseload: dict[str, int]
    spouse_pairs: list[tuple[str, str]]
    fingerprint: tuple[int, int, int]
    pending: tuple[list[rules.TeamPlan], list[tuple[str, str, str]]] | None = None


def fingerprint(session: Session, cycle_year: int) -> tuple[int, int, int]:
    """(helper assignments of the cycle, active team members, available cadres)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(HelperAssignment)
            .where(HelperAssignment.cycle_year == cycle_year)
        )
        or 0,
        session.scalar(
            select(func.count()).select_from(TeamMember).where(TeamMember.active.is_(True))
        )
        or 0,
        session.scalar(select(func.count()).select_from(Cadre).where(Cadre.available.is_(True)))
        or 0,
    )


def caseloads(session: Session, cycle_year: int) -> dict[str, int]:
    """Households per cadre in the cycle (every cadre: team members help households too)."""
    return {
        cid: int(n)
        for cid, n in session.execute(
            select(HelperAssignment.cadre_id, func.count())
            .where(HelperAssignment.cycle_year == cycle_year)
            .group_by(HelperAssignment.cadre_id)
        )
    }


def load_spouse_pairs(session: Session) -> list[tuple[str, str]]:
    """Married cadres (spouse_cadre_id, or a declared `spouse` relation between two cadres)."""
    from sqlalchemy.orm import aliased

    pairs = [
        (a, b)
        for a, b in session.execute(
            select(Cadre.cadre_id, Cadre.spouse_cadre_id).where(Cadre.spouse_cadre_id.is_not(None))
        )
    ]
    ca, cb = aliased(Cadre), aliased(Cadre)
    pairs += [
        (a, b)
        for a, b in session.execute(
            select(ca.cadre_id, cb.cadre_id)
            .select_from(Relation)
            .join(ca, ca.id_number == Relation.id_number_a)
            .join(cb, cb.id_number == Relation.id_number_b)
            .where(Relation.relation == "spouse")
        )
    ]
    return pairs


class PoolCache:
    """One `PoolState` per process (dispatch chunks are sequential); `pool` hands a chunk
    its pool, `committed`/`forget` follow the chunk's transaction."""

    def __init__(self) -> None:
        self.state: PoolState | None = None
        self.lock = threading.Lock()

    def pool(
        self,
        session: Session,
        cycle_year: int,
        team_members: dict[str, str],
        county: str | None = None,
    ) -> tuple[list[rules.CadreInfo], list[tuple[str, str]]]:
        """The chunk's pool (free cadres serving `county` + the chunk's active team members)
        and the spouse pairs, from the cache when it is still exact, else from the
        database."""
        from zhucun.tasks.dispatch_load import _CADRE_COLS, cadre_info, load_pool

        run = current_flow_run_id()
        url = str(session.get_bind().engine.url)
        with self.lock:
            state = self.state
            now = fingerprint(session, cycle_year) if run else None
            key = (url, cycle_year, run or "", county)
            stale = state is None or state.key != key or state.fingerprint != now
            if run is None or stale:
                state = None
            if state is None:
                caseload = caseloads(session, cycle_year)
                full = load_pool(session, cycle_year, {}, county, caseload)
                state = PoolState(
                    key=key,
                    free={c.cadre_id: c for c in full},
                    caseload=caseload,
                    spouse_pairs=load_spouse_pairs(session),
                    fingerprint=now or (0, 0, 0),
                )
                self.state = state if run else None
            members = []
            if team_members:
                for row in session.execute(
                    select(*_CADRE_COLS).where(Cadre.cadre_id.in_(list(team_members)))
                ):
                    members.append(cadre_info(row, state.caseload, team_members))
            return [*state.free.values(), *members], state.spouse_pairs

    def expect(self, teams: Iterable[rules.TeamPlan], helpers: list[tuple[str, str, str]]) -> None:
        """What the running chunk will write, applied to the cache once it commits."""
        with self.lock:
            if self.state is not None:
                self.state.pending = (list(teams), list(helpers))

    def committed(self) -> None:
        """The chunk committed: move its team members out of the free pool and count its
        helpers' caseload, as a re-read would."""
        with self.lock:
            s = self.state
            if s is None or s.pending is None:
                return
            teams, helpers = s.pending
            s.pending = None
            # a cadre takes many households of a chunk: its entry is replaced once
            for cid, n in Counter(cid for _h, cid, _v in helpers).items():
                s.caseload[cid] = s.caseload.get(cid, 0) + n
                if cid in s.free:
                    s.free[cid] = dataclasses.replace(s.free[cid], caseload=s.caseload[cid])
            joined = 0
            for t in teams:
                for cid in t.members:
                    joined += 1
                    s.free.pop(cid, None)
            a, b, c = s.fingerprint
            s.fingerprint = (a + len(helpers), b + joined, c)

    def forget(self) -> None:
        with self.lock:
            self.state = None


POOLS = PoolCache()
