"""The dispatch rules on plain data, each with the real-world case behind it
(domain-rules §5, DESIGN §2)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from zhucun.policy import default_policy
from zhucun.rules.dispatch import (
    HOME_VILLAGE,
    RELATIVE_OF_OFFICIAL,
    CadreInfo,
    Conflicts,
    DispatchPlan,
    VillageNeed,
    dispatch,
    is_large,
    leader_qualifies,
    team_term,
)

YEAR = 2026
POLICY = default_policy(YEAR, "central")


def cadre(
    cid: str,
    agency: str = "省农业农村厅",
    *,
    party: bool = True,
    join: int | None = 2010,
    work: int = 2005,
    skills: tuple[str, ...] = ("agriculture",),
    home: str | None = None,
    caseload: int = 0,
    team_village: str | None = None,
) -> CadreInfo:
    return CadreInfo(
        cid, agency, skills, party, join if party else None, work, home, caseload, team_village
    )


def village(
    code: str,
    need: float = 100.0,
    *,
    households: int = 0,
    large: bool = False,
    weights: dict[str, float] | None = None,
    needs_team: bool = True,
    team_agency: str | None = None,
) -> VillageNeed:
    return VillageNeed(
        code,
        need / 10_000,
        need,
        weights or {"agriculture": 1.0},
        needs_team,
        large,
        team_agency,
        tuple(f"H{code}{i:03d}" for i in range(households)),
    )


def team_of(plan: DispatchPlan, code: str) -> tuple[str, ...]:
    return next((t.members for t in plan.teams if t.village_code == code), ())


def test_policy_numbers_are_the_2017_guidance() -> None:
    """每个驻村工作队一般不少于3人，每期驻村时间不少于2年; first secretary ≥1 party year, ≥2 work
    years (2021 opinion); at most 5 households per helper."""
    assert (POLICY.team_min_size, POLICY.team_term_years) == (3, 2)
    assert (POLICY.first_secretary_min_party_years, POLICY.first_secretary_min_work_years) == (1, 2)
    assert POLICY.helper_caseload_cap == 5


def test_cadre_related_to_the_village_director_is_not_sent_there() -> None:
    """A cadre whose brother is the village committee director (村委会主任) would judge his
    brother's village: he goes to another village, never that one."""
    pool = [cadre("C1", skills=("health",))] + [cadre(f"C{i}") for i in range(2, 8)]
    conflicts = Conflicts.build(pool, official_relatives=[("C1", "V1")])
    weights = {"health": 1.0}
    plan = dispatch(
        [village("V1", 200, weights=weights), village("V2", 100, weights=weights)],
        pool,
        conflicts,
        YEAR,
        POLICY,
    )
    assert "C1" not in team_of(plan, "V1")
    assert "C1" in team_of(plan, "V2"), "the best health match still serves, elsewhere"


def test_cadre_related_to_a_poor_household_head_is_not_sent_to_that_village() -> None:
    """Relief 'distributed in favour of relatives' (优亲厚友) is what outsider teams prevent."""
    pool = [cadre(f"C{i}") for i in range(1, 5)]
    conflicts = Conflicts.build(pool, head_relatives=[("C1", "V1", "HV1000")])
    plan = dispatch([village("V1")], pool, conflicts, YEAR, POLICY)
    assert "C1" not in team_of(plan, "V1") and len(team_of(plan, "V1")) == 3


def test_cadre_is_never_sent_to_his_home_village() -> None:
    """A county cadre born in a poor village is sent to any poor village but his own."""
    pool = [cadre("C1", home="V1")] + [cadre(f"C{i}") for i in range(2, 8)]
    plan = dispatch(
        [village("V1", 200), village("V2", 100)], pool, Conflicts.build(pool), YEAR, POLICY
    )
    assert "C1" not in team_of(plan, "V1")
    assert "C1" in team_of(plan, "V2")


def test_party_member_of_less_than_one_year_cannot_be_first_secretary() -> None:
    """2021 opinion: a first secretary is a full party member of ≥1 year with ≥2 years of
    work. A cadre who joined the party this year, or who started work last year, may only be
    a member."""
    assert not leader_qualifies(cadre("J", join=YEAR), YEAR, POLICY)
    assert leader_qualifies(cadre("J", join=YEAR - 1), YEAR, POLICY)
    assert not leader_qualifies(cadre("W", work=YEAR - 1), YEAR, POLICY)
    assert not leader_qualifies(cadre("N", party=False), YEAR, POLICY)
    pool = [cadre("J", join=YEAR)] + [cadre(f"N{i}", party=False) for i in range(3)]
    plan = dispatch([village("V1")], pool, Conflicts.build(pool), YEAR, POLICY)
    assert plan.teams == []
    kinds = {s.kind: s for s in plan.shortages}
    assert kinds["leader"].missing == 1
    assert "no eligible first secretary" in kinds["leader"].reason


def test_spouses_are_never_sent_in_one_team() -> None:
    """Yunnan 2021: spouses are generally not sent together. With a married couple among
    four cadres, the team of three takes one of them and the other single cadre."""
    pool = [cadre("C1"), cadre("C2"), cadre("C3"), cadre("C4")]
    conflicts = Conflicts.build(pool, spouse_pairs=[("C2", "C3")])
    plan = dispatch([village("V1")], pool, conflicts, YEAR, POLICY)
    members = set(team_of(plan, "V1"))
    assert len(members) == 3 and not {"C2", "C3"} <= members


def test_couple_and_one_single_cadre_cannot_form_a_team() -> None:
    """Three cadres of whom two are married: no rule is broken to fill the third seat."""
    pool = [cadre("C1"), cadre("C2"), cadre("C3")]
    conflicts = Conflicts.build(pool, spouse_pairs=[("C2", "C3")])
    plan = dispatch([village("V1")], pool, conflicts, YEAR, POLICY)
    assert plan.teams == []
    (s,) = plan.shortages
    assert (s.kind, s.missing) == ("team", 1)
    assert "spouse of a team member" in s.reason


def test_team_has_at_least_three_members_and_a_two_year_term() -> None:
    """每个驻村工作队一般不少于3人，每期驻村时间不少于2年: the term starts on 1 January of the
    cycle year (a re-run on another day must give the same team) and lasts two years."""
    pool = [cadre(f"C{i}") for i in range(10)]
    plan = dispatch([village("V1")], pool, Conflicts.build(pool), YEAR, POLICY)
    (t,) = plan.teams
    assert len(t.members) == 3 and t.members[0] == t.leader_cadre_id
    assert (t.term_start, t.term_end) == (date(YEAR, 1, 1), date(YEAR + 2, 1, 1))
    assert team_term(YEAR, POLICY) == (t.term_start, t.term_end)


def test_large_village_gets_a_full_team_only_after_every_village_has_its_minimum() -> None:
    """Yunnan 2021: 1 first secretary + 4 members where many people are at risk. The extra
    seats are filled in a second pass, so a big team never costs another village its team."""
    assert is_large(200, POLICY) and not is_large(199, POLICY)
    pool = [cadre(f"C{i}") for i in range(6)]
    plan = dispatch(
        [village("V1", 300, large=True), village("V2", 100)],
        pool,
        Conflicts.build(pool),
        YEAR,
        POLICY,
    )
    assert len(team_of(plan, "V2")) == 3
    assert len(team_of(plan, "V1")) == 3
    pool = [cadre(f"C{i}") for i in range(9)]
    plan = dispatch(
        [village("V1", 300, large=True), village("V2", 100)],
        pool,
        Conflicts.build(pool),
        YEAR,
        POLICY,
    )
    assert len(team_of(plan, "V1")) == POLICY.team_max_size == 5


def test_neediest_village_is_served_first_when_cadres_run_short() -> None:
    """深度贫困村优先: with cadres for one team only, the village with the higher incidence gets
    it and the shortage lands on the less needy one — whatever the input order."""
    pool = [cadre(f"C{i}") for i in range(4)]
    plan = dispatch(
        [village("V-low", 120), village("V-high", 380)], pool, Conflicts.build(pool), YEAR, POLICY
    )
    assert [t.village_code for t in plan.teams] == ["V-high"]
    assert [(s.village_code, s.kind, s.missing) for s in plan.shortages] == [("V-low", "team", 2)]


def test_first_secretary_skills_match_the_villages_main_cause() -> None:
    """Health cadres where illness dominates (DESIGN §2): the village with mostly 因病
    households gets the health cadre as first secretary."""
    pool = [cadre("A1", skills=("agriculture",)), cadre("H1", skills=("health", "social_work"))] + [
        cadre(f"M{i}", party=False) for i in range(4)
    ]
    plan = dispatch(
        [village("V1", weights={"health": 0.8, "agriculture": 0.2})],
        pool,
        Conflicts.build(pool),
        YEAR,
        POLICY,
    )
    assert plan.teams[0].leader_cadre_id == "H1"


def test_members_come_preferably_from_the_first_secretarys_agency() -> None:
    """One sponsor agency owns the village's resource mobilisation: its cadres fill the team
    before another agency's, even a better skill match."""
    pool = [
        cadre("A1", "农业农村部"),
        cadre("A2", "农业农村部", party=False),
        cadre("A3", "农业农村部", party=False),
        cadre("B1", "卫生健康委", party=False, skills=("agriculture", "finance")),
    ]
    plan = dispatch(
        [village("V1", weights={"agriculture": 1, "finance": 1})],
        pool,
        Conflicts.build(pool),
        YEAR,
        POLICY,
    )
    (t,) = plan.teams
    assert t.agency == "农业农村部" and set(t.members) == {"A1", "A2", "A3"}


def test_members_from_another_agency_when_the_first_cannot_fill_the_team() -> None:
    pool = [
        cadre("A1", "农业农村部"),
        cadre("B1", "卫生健康委", party=False),
        cadre("B2", "卫生健康委", party=False),
    ]
    plan = dispatch([village("V1")], pool, Conflicts.build(pool), YEAR, POLICY)
    assert set(plan.teams[0].members) == {"A1", "B1", "B2"}


def test_cadre_in_an_active_team_is_never_sent_again() -> None:
    """A cadre is in at most one active team: a member of V0's team helps there only."""
    pool = [cadre("T1", team_village="V0"), cadre("C1"), cadre("C2")]
    plan = dispatch([village("V1")], pool, Conflicts.build(pool), YEAR, POLICY)
    assert plan.teams == []


def test_helper_caseload_never_exceeds_five() -> None:
    """A common local rule: at most 5 households per helper (帮扶责任人), counted over the
    whole cycle, including households a cadre already helps elsewhere."""
    pool = [cadre(f"C{i}") for i in range(3)] + [cadre("X1", caseload=4), cadre("X2")]
    plan = dispatch([village("V1", households=22)], pool, Conflicts.build(pool), YEAR, POLICY)
    load = Counter(c for _, c, _ in plan.helpers)
    assert len(plan.helpers) == 21  # 3×5 + 1 + 5
    assert load["X1"] == 1 and max(load.values()) == POLICY.helper_caseload_cap
    (s,) = plan.shortages
    assert (s.kind, s.missing) == ("helper", 1)


def test_every_poor_household_gets_exactly_one_helper_team_members_first() -> None:
    pool = [cadre(f"C{i}") for i in range(6)]
    plan = dispatch([village("V1", households=12)], pool, Conflicts.build(pool), YEAR, POLICY)
    assert len({h for h, _, _ in plan.helpers}) == len(plan.helpers) == 12
    team = set(plan.teams[0].members)
    assert {c for _, c, _ in plan.helpers[:10]} <= team


def test_helper_is_never_a_near_relative_of_the_household_head() -> None:
    """The helper drafts the household's strategy: a son may not help his father."""
    pool = [cadre(f"C{i}") for i in range(3)]
    conflicts = Conflicts.build(pool)
    conflicts.forbid_household("C0", "HV1000")
    conflicts.forbid_household("C1", "HV1000")
    plan = dispatch(
        [village("V1", households=1, needs_team=False, team_agency="省农业农村厅")],
        pool,
        conflicts,
        YEAR,
        POLICY,
    )
    assert plan.helpers == [("HV1000", "C2", "V1")]


def test_helpers_come_only_from_the_sponsor_agencies_of_the_team() -> None:
    """The sponsor unit helps its village's households; another unit's idle cadres do not
    stand in — the gap is reported."""
    pool = [cadre("A1", "农业农村部", team_village="V1"), cadre("B1", "卫生健康委")]
    plan = dispatch(
        [village("V1", households=7, needs_team=False, team_agency="农业农村部")],
        pool,
        Conflicts.build(pool),
        YEAR,
        POLICY,
        existing_teams={"V1": ["A1"]},
    )
    assert {c for _, c, _ in plan.helpers} == {"A1"}
    (s,) = plan.shortages
    assert (s.kind, s.missing) == ("helper", 2) and "农业农村部" in s.reason


def test_shortage_records_its_reason_and_no_rule_is_broken() -> None:
    """Both qualified party members are conflicted (one is the director's relative, one was
    born there): the village gets a recorded shortage naming why, not a rule-breaking team."""
    pool = [cadre("L1"), cadre("L2", home="V1")] + [cadre(f"N{i}", party=False) for i in range(4)]
    conflicts = Conflicts.build(pool, official_relatives=[("L1", "V1")])
    plan = dispatch([village("V1")], pool, conflicts, YEAR, POLICY)
    assert plan.teams == []
    leader = next(s for s in plan.shortages if s.kind == "leader")
    assert "2 conflicted" in leader.reason
    assert RELATIVE_OF_OFFICIAL in leader.reason and HOME_VILLAGE in leader.reason


def test_no_partial_team_and_its_cadres_serve_the_next_village() -> None:
    """A village with fewer eligible cadres than team_min_size gets no team, only a shortage;
    the cadres it could not use go to the next village in need order."""
    pool = [cadre("L1"), cadre("C1", party=False), cadre("C2", party=False)]
    conflicts = Conflicts.build(pool, official_relatives=[("C1", "V1"), ("C2", "V1")])
    plan = dispatch([village("V1", 300), village("V2", 100)], pool, conflicts, YEAR, POLICY)
    assert [t.village_code for t in plan.teams] == ["V2"]
    (s,) = [s for s in plan.shortages if s.village_code == "V1"]
    assert (s.kind, s.missing) == ("team", 2)
    assert "relative of village official: 2" in s.reason


@pytest.mark.parametrize("n", [50, 400])
def test_many_villages_every_rule_holds(n: int) -> None:
    """A county-sized random case: every team and helper of the plan obeys the rules."""
    import random

    rng = random.Random(n)
    skills = ("agriculture", "health", "education", "finance", "infrastructure")
    pool = [
        cadre(
            f"C{i:05d}",
            f"A{i % 7}",
            party=rng.random() < 0.7,
            join=rng.choice([2000, 2020, YEAR]),
            work=rng.choice([1995, 2015, YEAR]),
            skills=tuple(rng.sample(skills, rng.randint(1, 3))),
            home=f"V{rng.randrange(n)}" if rng.random() < 0.1 else None,
        )
        for i in range(n * 6)
    ]
    conflicts = Conflicts.build(
        pool,
        official_relatives=[
            (f"C{rng.randrange(n * 6):05d}", f"V{rng.randrange(n)}") for _ in range(n)
        ],
        head_relatives=[
            (f"C{rng.randrange(n * 6):05d}", f"V{v}", f"HV{v}000")
            for v in (rng.randrange(n) for _ in range(n))
        ],
        spouse_pairs=[(f"C{2 * i:05d}", f"C{2 * i + 1:05d}") for i in range(n // 2)],
    )
    villages = [
        village(
            f"V{i}",
            rng.randint(0, 500),
            households=rng.randint(5, 30),
            large=rng.random() < 0.2,
            weights={rng.choice(skills): 1.0},
        )
        for i in range(n)
    ]
    plan = dispatch(villages, pool, conflicts, YEAR, POLICY)
    info = {c.cadre_id: c for c in pool}
    seen: Counter[str] = Counter()
    for t in plan.teams:
        assert POLICY.team_min_size <= len(t.members) <= POLICY.team_max_size
        assert leader_qualifies(info[t.leader_cadre_id], YEAR, POLICY)
        for cid in t.members:
            seen[cid] += 1
            assert cid not in conflicts.village.get(t.village_code, {})
            assert not (conflicts.spouses.get(cid, set()) & set(t.members))
    assert not [c for c, k in seen.items() if k > 1]
    team_village = {cid: t.village_code for t in plan.teams for cid in t.members}
    agencies = {t.village_code: {info[c].agency for c in t.members} for t in plan.teams}
    load = Counter(c for _, c, _ in plan.helpers)
    assert max(load.values()) <= POLICY.helper_caseload_cap
    assert len({h for h, _, _ in plan.helpers}) == len(plan.helpers)
    for h, c, v in plan.helpers:
        assert c not in conflicts.household.get(h, set())
        assert team_village.get(c, v) == v
        if v in agencies:
            assert info[c].agency in agencies[v]
    short = {(s.village_code, s.kind): s.missing for s in plan.shortages}
    for v in villages:
        served = sum(1 for h, _, vv in plan.helpers if vv == v.village_code)
        assert served + short.get((v.village_code, "helper"), 0) == len(v.households)
        has_team = v.village_code in agencies
        assert has_team != ((v.village_code, "team") in short)


def test_cadre_who_already_helps_households_this_cycle_is_not_posted_to_a_team() -> None:
    """A helper of households in one village (assigned by an earlier chunk) who is then posted
    to another village's team would live away from the households he answers for."""
    pool = [cadre("C1", caseload=2), cadre("C2"), cadre("C3")]
    plan = dispatch([village("V1")], pool, Conflicts.build(pool), YEAR, POLICY)
    assert plan.teams == []
    pool = [cadre("C1", caseload=2), cadre("C2"), cadre("C3"), cadre("C4")]
    plan = dispatch([village("V1", households=3)], pool, Conflicts.build(pool), YEAR, POLICY)
    assert set(plan.teams[0].members) == {"C2", "C3", "C4"}


def test_first_secretary_preferably_from_an_agency_that_can_help_every_household() -> None:
    """Helpers come from the sponsor agencies: a village of 12 poor households is given to
    the agency whose cadres can still help all of them (5 each), not to one that cannot."""
    small = [cadre("A1", "小单位")] + [cadre(f"A{i}", "小单位", party=False) for i in (2, 3)]
    large = [cadre("B1", "大单位", skills=("health",))] + [
        cadre(f"B{i}", "大单位", party=False) for i in range(2, 5)
    ]
    pool = small + large
    plan = dispatch([village("V1", households=16)], pool, Conflicts.build(pool), YEAR, POLICY)
    assert plan.teams[0].agency == "大单位"
    assert len(plan.helpers) == 16 and not plan.shortages
