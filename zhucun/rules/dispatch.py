"""Dispatch (选派): who goes to which poor village, who leads, who helps which household.

Plain data in, plain data out; every number from `Policy`. The rules (domain-rules §5,
DESIGN §2):

- every registered poor village without an active team gets one of at least
  `team_min_size` cadres (2017 guidance: 一般不少于3人), `team_max_size` where the village is
  large (Yunnan 2021: 1 first secretary + 4 where ≥200 people), a term of at least
  `team_term_years` (每期驻村时间不少于2年), led by a first secretary who is a party member of
  ≥1 year with ≥2 years of work (2021 opinion);
- only available cadres, a cadre in at most one active team;
- never a cadre's home village, never a village where a near relative of the cadre is a
  village official or a registered poor household head (teams are outsiders "with no
  direct interest connection with the villages", 2013 decision); spouses never in one team
  (Yunnan 2021);
- neediest villages first (深度贫困村优先): incidence, then gaps;
- skills matched to the village's causes and gaps; members preferably from one sponsor
  agency, which then owns the village's resource mobilisation;
- every registered poor household exactly one helper (帮扶责任人) of the sponsor agencies,
  at most `helper_caseload_cap` households per helper in the cycle, never a near relative of
  the head; a helper is a member of the village's own team or of no team (a cadre who already
  helps households this cycle is not posted to a team);
- where the rules leave a seat empty, a shortage with its reason: no rule is ever broken to
  fill a seat, and a village with too few eligible cadres gets no partial team.

Scale: candidates are indexed by skill signature (a cadre has 1–3 of 9 skills, so a few
hundred signatures) globally and per agency; each village scores the signatures, not the
cadres, and takes the first eligible cadre of the best bucket. Conflicts are a reverse index
village → {cadre: reason} built in O(relations). Used cadres leave the buckets lazily. The
work is O(cadres + villages × signatures + households), never villages × cadres.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from zhucun.policy import Policy

# Conflict reasons, in the words an operator reads in a shortage.
HOME_VILLAGE = "home village"
RELATIVE_OF_OFFICIAL = "relative of village official"
RELATIVE_OF_POOR_HEAD = "relative of poor household head"
SPOUSE_IN_TEAM = "spouse of a team member"

# How far a leader search looks (candidates per signature, best signatures) for one whose own
# agency can still fill the team before it accepts a leader from any agency: keeps the search
# O(1) per village when agencies run dry.
_AGENCY_SCAN_LIMIT = 16
_PREFERRED_SIGNATURES = 8


@dataclass(frozen=True, slots=True)
class CadreInfo:
    """What dispatch needs to know of a cadre (no ID number: conflicts arrive precomputed)."""

    cadre_id: str
    agency: str
    skills: tuple[str, ...] = ()
    party_member: bool = False
    party_join_year: int | None = None
    work_start_year: int = 0
    home_village: str | None = None
    caseload: int = 0  # households already assigned to this cadre in the cycle
    team_village: str | None = None  # village of the active team the cadre is in, if any


@dataclass(frozen=True, slots=True)
class VillageNeed:
    """A village to serve: its need, the skills it needs, and what it still lacks."""

    village_code: str
    incidence: float
    need_score: float
    skill_weights: Mapping[str, float] = field(default_factory=dict)
    needs_team: bool = True  # registered poor and no active team
    large: bool = False  # gets `team_max_size` members (many poor persons)
    team_agency: str | None = None  # sponsor agency of its active team, if it has one
    households: tuple[str, ...] = ()  # registered poor households still without a helper


@dataclass
class Conflicts:
    """Conflicts of interest, precomputed from relations ⋈ officials / households.

    `village[v][cadre]` is why `cadre` may not join the team of village `v`; `household[h]`
    the cadres who are near relatives of the head of household `h`; `spouses[c]` the
    cadres married to `c` (cadres.spouse_cadre_id or a declared `spouse` relation)."""

    village: dict[str, dict[str, str]] = field(default_factory=dict)
    household: dict[str, set[str]] = field(default_factory=dict)
    spouses: dict[str, set[str]] = field(default_factory=dict)

    def forbid_village(self, cadre_id: str, village_code: str, reason: str) -> None:
        self.village.setdefault(village_code, {}).setdefault(cadre_id, reason)

    def forbid_household(self, cadre_id: str, household_id: str) -> None:
        self.household.setdefault(household_id, set()).add(cadre_id)

    def add_spouses(self, a: str, b: str) -> None:
        if a != b:
            self.spouses.setdefault(a, set()).add(b)
            self.spouses.setdefault(b, set()).add(a)

    @classmethod
    def build(
        cls,
        cadres: Iterable[CadreInfo] = (),
        official_relatives: Iterable[tuple[str, str]] = (),
        head_relatives: Iterable[tuple[str, str, str]] = (),
        spouse_pairs: Iterable[tuple[str, str]] = (),
    ) -> Conflicts:
        """From home villages, (cadre, village of the related official), (cadre, village,
        household of the related poor head) and spouse pairs, each in one pass."""
        c = cls()
        for cadre in cadres:
            if cadre.home_village:
                c.forbid_village(cadre.cadre_id, cadre.home_village, HOME_VILLAGE)
        for cadre_id, village in official_relatives:
            c.forbid_village(cadre_id, village, RELATIVE_OF_OFFICIAL)
        for cadre_id, village, household in head_relatives:
            c.forbid_village(cadre_id, village, RELATIVE_OF_POOR_HEAD)
            c.forbid_household(cadre_id, household)
        for a, b in spouse_pairs:
            c.add_spouses(a, b)
        return c


@dataclass(frozen=True)
class TeamPlan:
    village_code: str
    leader_cadre_id: str
    members: tuple[str, ...]  # the leader first
    agency: str
    term_start: date
    term_end: date


@dataclass(frozen=True)
class ShortagePlan:
    village_code: str
    kind: str  # team / leader / helper
    missing: int
    reason: str


@dataclass
class DispatchPlan:
    teams: list[TeamPlan] = field(default_factory=list)
    helpers: list[tuple[str, str, str]] = field(default_factory=list)  # household, cadre, village
    shortages: list[ShortagePlan] = field(default_factory=list)


# --- single rules ------------------------------------------------------------------------


def leader_qualifies(c: CadreInfo, cycle_year: int, policy: Policy) -> bool:
    """First secretary (第一书记): a party member of ≥ first_secretary_min_party_years and
    ≥ first_secretary_min_work_years of work, counted at the cycle year."""
    return (
        c.party_member
        and c.party_join_year is not None
        and cycle_year - c.party_join_year >= policy.first_secretary_min_party_years
        and cycle_year - c.work_start_year >= policy.first_secretary_min_work_years
    )


def team_term(cycle_year: int, policy: Policy) -> tuple[date, date]:
    """The term starts on 1 January of the cycle year (not the dispatch date: a re-run on
    another day must produce the same team) and lasts team_term_years full years."""
    return date(cycle_year, 1, 1), date(cycle_year + policy.team_term_years, 1, 1)


def team_size(large: bool, policy: Policy) -> int:
    return policy.team_max_size if large else policy.team_min_size


def is_large(poor_population: int, policy: Policy) -> bool:
    """A village with at least `team_full_size_poor_persons` poor persons gets a full team."""
    limit = policy.team_full_size_poor_persons
    return limit is not None and poor_population >= limit


def need_key(v: VillageNeed) -> tuple[float, float, str]:
    """Neediest first: need score (incidence, then gaps), then incidence, then code."""
    return (-v.need_score, -v.incidence, v.village_code)


# --- the matching ------------------------------------------------------------------------


Sig = tuple[str, ...]


class _Buckets:
    """Cadre ids by skill signature; used cadres are dropped lazily when met."""

    def __init__(self) -> None:
        self.by_sig: dict[Sig, list[str]] = defaultdict(list)

    def add(self, sig: Sig, cadre_id: str) -> None:
        self.by_sig[sig].append(cadre_id)

    def ordered(self, weights: Mapping[str, float]) -> list[tuple[float, Sig]]:
        """Signatures with cadres left, best skill match first (a memo of the signature
        scores may be passed as `weights[sig]` through `_SigScores`)."""
        score = weights.score if isinstance(weights, _SigScores) else _SigScores(weights).score
        scored = [(score(sig), sig) for sig, ids in self.by_sig.items() if ids]
        scored.sort(key=lambda t: (-t[0], t[1]))
        return scored


class _SigScores(dict):
    """A village's skill weights with a memo of signature scores (each signature is scored
    once per village, however many bucket sets are ordered)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        super().__init__(weights)
        self.memo: dict[Sig, float] = {}

    def score(self, sig: Sig) -> float:
        v = self.memo.get(sig)
        if v is None:
            v = self.memo[sig] = sum(self.get(s, 0.0) for s in sig)
        return v


def _scan(
    bucket: list[str],
    used: set[str],
    skip: set[str] | Mapping[str, str],
    taken: set[str],
    ok: object = None,
    limit: int | None = None,
) -> str | None:
    """The last usable cadre of a bucket (buckets are filled in reverse id order, so the
    smallest id comes first); drops used ones on the way (swap with the last and pop)."""
    i = len(bucket) - 1
    seen = 0
    while i >= 0:
        cid = bucket[i]
        if cid in used:
            bucket[i] = bucket[-1]
            bucket.pop()
            i -= 1
            continue
        if cid not in skip and cid not in taken and (ok is None or ok(cid)):  # type: ignore[operator]
            return cid
        seen += 1
        if limit is not None and seen >= limit:
            return None
        i -= 1
    return None


class _Matcher:
    def __init__(
        self, cadres: Iterable[CadreInfo], conflicts: Conflicts, cycle_year: int, policy: Policy
    ) -> None:
        self.policy, self.cycle_year, self.conflicts = policy, cycle_year, conflicts
        self.info: dict[str, CadreInfo] = {}
        self.capacity: dict[str, int] = {}
        self.team_of: dict[str, str] = {}
        self.leaders = _Buckets()  # qualified first secretaries, any agency
        self.members = _Buckets()  # any team-eligible cadre, any agency
        # members of one agency, leaders-qualified kept apart so members spare them
        self.agency_plain: dict[str, _Buckets] = defaultdict(_Buckets)
        self.agency_lead: dict[str, _Buckets] = defaultdict(_Buckets)
        self.agency_left: Counter[str] = Counter()
        # helper capacity per agency not yet promised to a village of its teams
        self.agency_capacity: Counter[str] = Counter()
        self.helpers_by_agency: dict[str, list[str]] = defaultdict(list)
        self.helper_ptr: Counter[str] = Counter()
        self.is_leader: set[str] = set()
        self.used: set[str] = set()
        self._scores_for: str | None = None
        self._score_memo = _SigScores({})
        self.qualified_total = 0
        self.posted_leaders = 0  # qualified first secretaries already in a team of this run
        self.free = 0  # team-eligible cadres not yet in a team
        interned: dict[Sig, Sig] = {}
        pool = sorted(cadres, key=lambda c: c.cadre_id, reverse=True)
        cap = policy.helper_caseload_cap
        for c in pool:
            self.info[c.cadre_id] = c
            self.capacity[c.cadre_id] = max(cap - c.caseload, 0)
            if c.team_village is not None:
                self.team_of[c.cadre_id] = c.team_village
                continue
            self.agency_capacity[c.agency] += self.capacity[c.cadre_id]
            if c.caseload > 0:
                # already helps households this cycle (an earlier chunk or run): posting him
                # to a team would make him a resident elsewhere with households here
                continue
            sig = tuple(sorted(set(c.skills)))
            sig = interned.setdefault(sig, sig)
            self.members.add(sig, c.cadre_id)
            self.agency_left[c.agency] += 1
            self.free += 1
            if leader_qualifies(c, cycle_year, policy):
                self.is_leader.add(c.cadre_id)
                self.qualified_total += 1
                self.leaders.add(sig, c.cadre_id)
                self.agency_lead[c.agency].add(sig, c.cadre_id)
            else:
                self.agency_plain[c.agency].add(sig, c.cadre_id)
        # helper lists: non-leaders first (spare first secretaries for teams), then by id
        for c in reversed(pool):
            if c.team_village is None:
                self.helpers_by_agency[c.agency].append(c.cadre_id)
        for ids in self.helpers_by_agency.values():
            ids.sort(key=lambda cid: (cid in self.is_leader, cid))
        self.all_helpers = sorted(
            (cid for ids in self.helpers_by_agency.values() for cid in ids),
            key=lambda cid: (cid in self.is_leader, cid),
        )
        self.all_ptr = 0

    # -- teams --

    def _scores(self, v: VillageNeed) -> _SigScores:
        if self._scores_for != v.village_code:
            self._scores_for, self._score_memo = v.village_code, _SigScores(v.skill_weights)
        return self._score_memo

    def _spouse_ok(self, team: set[str]) -> object:
        spouses = self.conflicts.spouses

        def ok(cid: str) -> bool:
            s = spouses.get(cid)
            return not s or s.isdisjoint(team)

        return ok

    def _leader(self, v: VillageNeed, forbidden: Mapping[str, str]) -> str | None:
        need = team_size(v.large, self.policy)
        order = self.leaders.ordered(self._scores(v))

        households = len(v.households)

        def agency_can_fill_and_help(cid: str) -> bool:
            a = self.info[cid].agency
            return self.agency_left[a] >= need and self.agency_capacity[a] >= households

        def agency_can_fill(cid: str) -> bool:
            return self.agency_left[self.info[cid].agency] >= need

        # preferably a leader of the best-matching skills whose own agency can fill the team
        # and help every household (a bounded look: the preference never costs a full scan)
        for ok in (agency_can_fill_and_help, agency_can_fill):
            for _, sig in order[:_PREFERRED_SIGNATURES]:
                cid = _scan(
                    self.leaders.by_sig[sig], self.used, forbidden, set(), ok, _AGENCY_SCAN_LIMIT
                )
                if cid:
                    return cid
        for _, sig in order:
            cid = _scan(self.leaders.by_sig[sig], self.used, forbidden, set())
            if cid:
                return cid
        return None

    def _fill(
        self, v: VillageNeed, team: list[str], agency: str, size: int, forbidden: Mapping[str, str]
    ) -> None:
        """Add members up to `size`: the team's agency first (non-leaders before leaders at
        an equal skill match), then any agency."""
        taken = set(team)
        sources = [self.agency_plain.get(agency), self.agency_lead.get(agency), self.members]
        for buckets in sources:
            if buckets is None:
                continue
            order = buckets.ordered(self._scores(v))
            for _, sig in order:
                while len(team) < size:
                    cid = _scan(
                        buckets.by_sig[sig], self.used, forbidden, taken, self._spouse_ok(taken)
                    )
                    if cid is None:
                        break
                    team.append(cid)
                    taken.add(cid)
                if len(team) >= size:
                    return

    def _commit_team(self, v: VillageNeed, team: list[str]) -> None:
        for cid in team:
            self.used.add(cid)
            self.team_of[cid] = v.village_code
            self.agency_left[self.info[cid].agency] -= 1
            self.free -= 1
            self.posted_leaders += cid in self.is_leader

    def form_team(self, v: VillageNeed, plan: DispatchPlan) -> str | None:
        """The team of one village, or its shortages. Returns the team's agency."""
        p = self.policy
        forbidden = self.conflicts.village.get(v.village_code, {})
        leader = self._leader(v, forbidden)
        if leader is None:
            reason = self._leader_reason(forbidden)
            plan.shortages.append(ShortagePlan(v.village_code, "leader", 1, reason))
            plan.shortages.append(
                ShortagePlan(v.village_code, "team", p.team_min_size, f"no team sent: {reason}")
            )
            return None
        agency = self.info[leader].agency
        team = [leader]
        self._fill(v, team, agency, p.team_min_size, forbidden)
        if len(team) < p.team_min_size:
            missing = p.team_min_size - len(team)
            plan.shortages.append(
                ShortagePlan(
                    v.village_code,
                    "team",
                    missing,
                    f"no team sent: only {len(team)} of {p.team_min_size} eligible cadres "
                    f"({self._pool_reason(forbidden, set(team))})",
                )
            )
            return None  # no partial team: the cadres stay free for the next village
        self._commit_team(v, team)
        self.agency_capacity[agency] -= len(v.households)  # its households are its to help
        plan.teams.append(
            TeamPlan(v.village_code, leader, tuple(team), agency, *team_term(self.cycle_year, p))
        )
        return agency

    def top_up(self, v: VillageNeed, t: TeamPlan, plan: DispatchPlan, index: int) -> TeamPlan:
        """Second pass: large villages grow to `team_max_size` once every village had its
        minimum team (so a big team never costs another village its team)."""
        size = team_size(v.large, self.policy)
        if len(t.members) >= size:
            return t
        forbidden = self.conflicts.village.get(v.village_code, {})
        team = list(t.members)
        self._fill(v, team, t.agency, size, forbidden)
        extra = team[len(t.members) :]
        self._commit_team(v, extra)
        new = TeamPlan(
            t.village_code, t.leader_cadre_id, tuple(team), t.agency, t.term_start, t.term_end
        )
        plan.teams[index] = new
        return new

    def _leader_reason(self, forbidden: Mapping[str, str]) -> str:
        posted = self.posted_leaders
        conflicted = Counter(
            r for c, r in forbidden.items() if c in self.is_leader and c not in self.used
        )
        left = self.qualified_total - posted
        text = f"no eligible first secretary: {left} qualified party members left"
        if conflicted:
            text += f", {sum(conflicted.values())} conflicted ({_reasons(conflicted)})"
        return text + f", {posted} already posted"

    def _pool_reason(self, forbidden: Mapping[str, str], team: set[str]) -> str:
        left = self.free - len(team)
        conflicted = Counter(
            r
            for c, r in forbidden.items()
            if c not in self.used and c not in team and c in self.info and c not in self.team_of
        )
        spouse = sum(
            1
            for c in team
            for s in self.conflicts.spouses.get(c, ())
            if s in self.info and s not in self.used and s not in self.team_of
        )
        if spouse:
            conflicted[SPOUSE_IN_TEAM] += spouse
        text = f"{max(left, 0)} cadres left in the pool"
        if conflicted:
            text += f", {sum(conflicted.values())} conflicted ({_reasons(conflicted)})"
        return text

    # -- helpers --

    def _take_helper(
        self, ids: list[str], ptr_get: int, village: str, related: set[str]
    ) -> tuple[str | None, int]:
        """First cadre from `ptr_get` with capacity, not in another village's team, not a
        relative; exhausted cadres at the front advance the pointer for good."""
        i, ptr = ptr_get, ptr_get
        while i < len(ids):
            cid = ids[i]
            tv = self.team_of.get(cid)
            if self.capacity[cid] <= 0 or (tv is not None and tv != village):
                if i == ptr:
                    ptr += 1
                i += 1
                continue
            if cid in related:
                i += 1
                continue
            return cid, ptr
        return None, ptr

    def assign_helpers(
        self, v: VillageNeed, team: Sequence[str], agencies: Sequence[str], plan: DispatchPlan
    ) -> None:
        """Team members first (they live there), then the sponsor agencies' other cadres;
        a village without a team draws on every agency sending cadres to the county."""
        cap_left = 0
        related_skips = 0
        unassigned = 0
        for hh in v.households:
            related = self.conflicts.household.get(hh, set())
            chosen = next(
                (c for c in team if self.capacity.get(c, 0) > 0 and c not in related), None
            )
            if chosen is None:
                if agencies:
                    for a in agencies:
                        chosen, self.helper_ptr[a] = self._take_helper(
                            self.helpers_by_agency.get(a, []),
                            self.helper_ptr[a],
                            v.village_code,
                            related,
                        )
                        if chosen:
                            break
                else:
                    chosen, self.all_ptr = self._take_helper(
                        self.all_helpers, self.all_ptr, v.village_code, related
                    )
            if chosen is None:
                unassigned += 1
                related_skips += len(related)
                continue
            self.capacity[chosen] -= 1
            plan.helpers.append((hh, chosen, v.village_code))
        if unassigned:
            cap_left = sum(1 for c in team if self.capacity.get(c, 0) > 0)
            who = ", ".join(agencies) if agencies else "any agency"
            reason = (
                f"{unassigned} households without a helper: no cadre of {who} with "
                f"capacity left (at most {self.policy.helper_caseload_cap} households "
                f"each) who is not a near relative of the head"
            )
            if related_skips:
                reason += f" ({related_skips} relatives excluded)"
            if cap_left:
                reason += f"; {cap_left} team members still had capacity"
            plan.shortages.append(ShortagePlan(v.village_code, "helper", unassigned, reason))


def _reasons(c: Counter[str]) -> str:
    return ", ".join(f"{r}: {n}" for r, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def dispatch(
    villages: Sequence[VillageNeed],
    cadres: Iterable[CadreInfo],
    conflicts: Conflicts,
    cycle_year: int,
    policy: Policy,
    existing_teams: Mapping[str, Sequence[str]] | None = None,
) -> DispatchPlan:
    """Teams, helpers and shortages for `villages`, neediest first.

    `cadres` are the candidates: available cadres not in an active team, plus (with
    `team_village` set) the members of the villages' active teams, who may be helpers there.
    `existing_teams` maps a village with an active team to its members' ids; its
    `VillageNeed.team_agency` names the team's agency."""
    m = _Matcher(cadres, conflicts, cycle_year, policy)
    plan = DispatchPlan()
    order = sorted(villages, key=need_key)
    formed: dict[str, int] = {}
    for v in order:  # pass 1: a minimum team for every village that needs one
        if v.needs_team and m.form_team(v, plan):
            formed[v.village_code] = len(plan.teams) - 1
    for v in order:  # pass 2: full teams for large villages
        if v.village_code in formed:
            m.top_up(v, plan.teams[formed[v.village_code]], plan, formed[v.village_code])
    existing_teams = existing_teams or {}
    for v in order:  # pass 3: a helper for every registered poor household
        if not v.households:
            continue
        if v.village_code in formed:
            t = plan.teams[formed[v.village_code]]
            team, lead_agency = list(t.members), t.agency
        else:
            team, lead_agency = list(existing_teams.get(v.village_code, ())), v.team_agency
        agencies: list[str] = []
        if lead_agency:
            agencies.append(lead_agency)
        for cid in team:
            a = m.info[cid].agency if cid in m.info else None
            if a and a not in agencies:
                agencies.append(a)
        m.assign_helpers(v, [c for c in team if c in m.info], agencies, plan)
    return plan
