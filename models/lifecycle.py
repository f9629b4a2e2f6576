"""Tables the assistance lifecycle fills, one row per (cycle, village) or (cycle, household).

Unique constraints on those keys make every stage idempotent: a re-run upserts, never
duplicates. Partial unique indexes enforce "one active team per village" and "a cadre in at
most one active team" in the database itself, whatever the code does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, and_, or_, text, true
from sqlmodel import Field, SQLModel


class Team(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("village_code", "cycle_year", name="uq_team_village_cycle"),
        Index(
            "uq_team_active_village",
            "village_code",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    team_id: int | None = Field(default=None, primary_key=True)
    village_code: str = Field(foreign_key="village.village_code", max_length=12)
    cycle_year: int
    term_start: date
    term_end: date
    leader_cadre_id: str = Field(foreign_key="cadre.cadre_id", max_length=32)
    agency: str  # the sponsor unit that owns this village's resource mobilisation
    status: str = Field(default="active", max_length=10)


class TeamMember(SQLModel, table=True):
    __table_args__ = (
        Index(
            "uq_member_active_cadre",
            "cadre_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    team_id: int = Field(foreign_key="team.team_id", primary_key=True)
    cadre_id: str = Field(foreign_key="cadre.cadre_id", primary_key=True, max_length=32)
    role: str = Field(max_length=16)  # first_secretary / member
    active: bool = True


class HelperAssignment(SQLModel, table=True):
    """The designated helper (帮扶责任人) of one poor household in one cycle."""

    __table_args__ = (
        UniqueConstraint("household_id", "cycle_year", name="uq_helper_household_cycle"),
        Index("ix_helper_cadre_cycle", "cadre_id", "cycle_year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    cycle_year: int
    cadre_id: str = Field(foreign_key="cadre.cadre_id", max_length=32)
    village_code: str = Field(max_length=12, index=True)


class Shortage(SQLModel, table=True):
    """A seat the rules could not fill, reported instead of papered over."""

    __table_args__ = (UniqueConstraint("village_code", "cycle_year", "kind", name="uq_shortage"),)

    id: int | None = Field(default=None, primary_key=True)
    village_code: str = Field(foreign_key="village.village_code", max_length=12)
    cycle_year: int
    kind: str = Field(default="team", max_length=10)  # team / leader / helper
    missing_members: int
    reason: str


class VillageAssessment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("village_code", "cycle_year", name="uq_village_assessment"),)

    id: int | None = Field(default=None, primary_key=True)
    village_code: str = Field(foreign_key="village.village_code", max_length=12)
    cycle_year: int
    poor_households: int
    poor_population: int
    poverty_incidence: float
    gaps: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    top_causes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cause_distribution: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    collective_income_yuan: float = 0.0
    industries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    need_score: float = 0.0  # orders dispatch: neediest first


class HouseholdAssessment(SQLModel, table=True):
    """Causes of poverty of one household: exactly one main cause, at most two others.

    `evidence` maps each cause to the indicator that triggered it; `rule_version` names the
    policy version of the rules, so an auditor can replay the decision."""

    __table_args__ = (
        UniqueConstraint("household_id", "cycle_year", name="uq_household_assessment"),
        Index("ix_hh_assessment_village", "village_code", "cycle_year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    village_code: str = Field(max_length=12)
    cycle_year: int
    main_cause: str = Field(max_length=12)
    other_causes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source: str = Field(default="rule", max_length=10)  # rule / override
    rule_version: str = Field(default="", max_length=32)
    override_reason: str | None = None
    overridden_by: str | None = Field(default=None, max_length=32)


class Plan(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("village_code", "cycle_year", name="uq_plan"),)

    id: int | None = Field(default=None, primary_key=True)
    village_code: str = Field(foreign_key="village.village_code", max_length=12)
    cycle_year: int
    sponsor_agency: str | None = None
    total_cost_yuan: float = 0.0
    status: str = Field(default="draft", max_length=20)
    version: int = 1


class PlanItem(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("plan_id", "item", name="uq_plan_item"),
        Index("ix_plan_item_village", "village_code", "cycle_year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    village_code: str = Field(max_length=12)
    cycle_year: int
    category: str = Field(max_length=16)
    item: str
    answers: str  # the gap or cause it answers, e.g. "gap:road" or "cause:water"
    cost_yuan: float
    funding_source: str = Field(max_length=32)
    status: str = Field(default="draft", max_length=20)


class SponsorResource(SQLModel, table=True):
    """What one sponsor unit has mobilised for a cycle and how much of it is allocated.

    Allocation is checked against `budget_yuan` in the same transaction that writes the plan
    items, so the fund is never over-allocated."""

    __table_args__ = (UniqueConstraint("agency", "cycle_year", name="uq_sponsor_resource"),)

    id: int | None = Field(default=None, primary_key=True)
    agency: str
    cycle_year: int
    budget_yuan: float
    allocated_yuan: float = 0.0


class Strategy(SQLModel, table=True):
    """一户一策: the measures for one household in one cycle, and its review status.

    A household has one *current* version per cycle (`is_current`: the one the review and
    the drafting work on). When its facts change after its strategy became final, a
    revision (动态调整) is drafted as a new current row that `supersedes` the approved
    one; the approved row stays in force (status approved, `is_current` false) until the
    revision is approved, then it becomes `superseded`. Every version stays in the table."""

    __table_args__ = (
        UniqueConstraint("household_id", "cycle_year", "version", name="uq_strategy_version"),
        Index(
            "uq_strategy_current",
            "household_id",
            "cycle_year",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_strategy_village_status", "village_code", "cycle_year", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    village_code: str = Field(max_length=12)
    cycle_year: int
    measures: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cost_yuan: float = 0.0
    status: str = Field(default="draft", max_length=20)
    version: int = 1
    approved_by: str | None = Field(default=None, max_length=32)
    approved_on: date | None = None
    return_reason: str | None = None
    is_current: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    supersedes: int | None = Field(default=None, foreign_key="strategy.id")


def strategy_in_force() -> Any:
    """The version in force: the approved one (at most one per household and cycle)."""
    return Strategy.status == "approved"


def strategy_on_record() -> Any:
    """What the household has, as exports, reports and the exit read it: the version in
    force, else its only (current, not a revision) version. A pending revision is not."""
    return or_(
        Strategy.status == "approved",
        and_(Strategy.is_current, Strategy.supersedes.is_(None)),
    )


class StrategyMeasure(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("strategy_id", "measure", name="uq_strategy_measure"),)

    id: int | None = Field(default=None, primary_key=True)
    # indexed by uq_strategy_measure (strategy_id, measure), its leading column
    strategy_id: int = Field(foreign_key="strategy.id")
    measure: str = Field(max_length=24)
    answers_cause: str = Field(max_length=12)
    cost_yuan: float  # fiscal cost (for microcredit: interest subsidy + risk-fund share)
    principal_yuan: float | None = None  # a loan's principal: lent and repaid, never spending
    provider: str
    expected_effect: str


class MeasureDelivery(SQLModel, table=True):
    """Delivery (落实) of one measure of a household's approved strategy in one cycle.

    Keyed by household, cycle and measure rather than by `StrategyMeasure.id`, because a
    redraft replaces the measure rows; no row means the measure is still planned. Exit and
    risk elimination count `delivered` rows only, never a drafted measure."""

    __table_args__ = (
        UniqueConstraint("household_id", "cycle_year", "measure", name="uq_measure_delivery"),
        Index("ix_delivery_village_cycle", "village_code", "cycle_year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    village_code: str = Field(max_length=12)
    cycle_year: int
    measure: str = Field(max_length=24)
    state: str = Field(default="planned", max_length=14)
    state_on: date | None = None  # the day of the last state change (delivered on, …)
    spent_yuan: float | None = None  # what was actually spent (fiscal), when known
    recorded_by: str | None = Field(default=None, max_length=32)  # cadre / helper ID
    note: str = ""  # evidence, masked (no ID, phone or bank numbers)
    not_started_flagged_on: date | None = None  # the daily check flagged it once
