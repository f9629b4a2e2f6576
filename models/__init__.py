"""SQLModel tables, enumerations and state machines of zhucun.

Importing this package registers every table on `SQLModel.metadata` (Alembic and the test
fixtures rely on that)."""

from zhucun.models.audit import AuditEvent, Decision
from zhucun.models.evaluation import Evaluation, MonitoringCase, VillageStatus
from zhucun.models.lifecycle import (
    HelperAssignment,
    HouseholdAssessment,
    Plan,
    PlanItem,
    Shortage,
    SponsorResource,
    Strategy,
    StrategyMeasure,
    Team,
    TeamMember,
    VillageAssessment,
)
from zhucun.models.monitoring import MonitoringClue
from zhucun.models.policy import PolicyValue
from zhucun.models.procedure import CrossCheckFinding, ProcedureCase
from zhucun.models.registry import (
    Cadre,
    County,
    Household,
    Member,
    Official,
    Relation,
    Survey,
    Township,
    Village,
)
from zhucun.models.review import Objection, Publicity, ReviewEscalation, ReviewState

__all__ = [
    "AuditEvent",
    "Cadre",
    "County",
    "CrossCheckFinding",
    "Decision",
    "Evaluation",
    "HelperAssignment",
    "Household",
    "HouseholdAssessment",
    "Member",
    "MonitoringCase",
    "MonitoringClue",
    "Objection",
    "Official",
    "Plan",
    "PlanItem",
    "PolicyValue",
    "ProcedureCase",
    "Publicity",
    "Relation",
    "ReviewEscalation",
    "ReviewState",
    "Shortage",
    "SponsorResource",
    "Strategy",
    "StrategyMeasure",
    "Survey",
    "Team",
    "TeamMember",
    "Township",
    "Village",
    "VillageAssessment",
    "VillageStatus",
]
