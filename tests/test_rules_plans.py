"""Village plan items and the sponsor unit's budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from zhucun.models.enums import Cause, FundingSource, Gap, PlanCategory

from zhucun.policy import default_policy
from zhucun.rules.plans import allocate, draft_items, sponsor_budget

POLICY = default_policy(2026, "central")


def test_every_gap_gets_an_item_answering_it() -> None:
    """村发展规划: each missing facility becomes an item tied to the gap."""
    items = draft_items([g.value for g in Gap], [], POLICY)
    assert {i.answers for i in items} == {f"gap:{g.value}" for g in Gap}
    assert {i.category for i in items} == set(PlanCategory)


def test_road_gap_costs_the_policy_unit_cost() -> None:
    (road,) = draft_items(["road"], [], POLICY)
    assert road.category is PlanCategory.infrastructure
    assert road.cost_yuan == POLICY.plan_item_cost_yuan["road"]


def test_illness_dominated_village_gets_a_health_item() -> None:
    """Health cadres where illness dominates: the plan answers the top cause too."""
    items = draft_items([], ["illness", "skills"], POLICY)
    assert [i.answers for i in items] == ["cause:skills", "cause:illness"]
    assert items[1].category is PlanCategory.public_service


def test_transport_cause_is_not_a_second_road_when_the_road_gap_exists() -> None:
    items = draft_items(["road"], ["transport"], POLICY)
    assert [i.answers for i in items] == ["gap:road"]


def test_household_level_causes_have_no_village_item() -> None:
    assert draft_items([], [Cause.capital, Cause.labour, Cause.other], POLICY) == []


def test_sponsor_budget_is_never_over_allocated() -> None:
    """The sponsor unit's mobilised resources are tracked and never over-allocated: the
    clinic (250,000) does not fit in the 300,000 left after water; the power line does."""
    items = draft_items(["water", "clinic", "power"], [], POLICY)
    funded, used = allocate(items, 700_000)
    by = {i.answers: i.funding_source for i in funded}
    assert by["gap:water"] is FundingSource.sponsor_unit
    assert by["gap:power"] is FundingSource.sponsor_unit
    assert by["gap:clinic"] is FundingSource.integrated_county_funds
    assert used == 700_000


def test_no_budget_left_means_integrated_county_funds() -> None:
    funded, used = allocate(draft_items(["road"], [], POLICY), 0)
    assert used == 0 and funded[0].funding_source is FundingSource.integrated_county_funds


@given(
    st.lists(st.sampled_from([g.value for g in Gap]), unique=True),
    st.floats(min_value=0, max_value=5_000_000),
)
def test_allocation_never_exceeds_what_remains(gaps: list[str], remaining: float) -> None:
    funded, used = allocate(draft_items(gaps, [], POLICY), remaining)
    sponsor = sum(i.cost_yuan for i in funded if i.funding_source is FundingSource.sponsor_unit)
    assert used <= remaining + 1e-6
    assert abs(sponsor - used) < 1e-6


def test_central_sponsor_mobilises_more_than_a_county_bureau() -> None:
    assert sponsor_budget("central", 2, POLICY) == 2 * POLICY.sponsor_budget_yuan["central"]
    assert sponsor_budget("central", 1, POLICY) > sponsor_budget("county", 1, POLICY)
