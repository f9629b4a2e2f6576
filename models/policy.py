"""Versioned policy data. Every number a rule uses (poverty line, thresholds, team size,
term, publicity days, caseload cap, unit costs, the cause→measure table) is a row here,
keyed by the year it takes effect and the region (or province) it applies to.
The default rows, with their sources, are in `zhucun/policy/defaults.toml`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class PolicyValue(SQLModel, table=True):
    """One policy parameter from `year_from` on, for `scope` ('*' = national, a region such
    as 'west', or a 2-digit province code). The most specific scope, latest year wins."""

    __table_args__ = (UniqueConstraint("key", "year_from", "scope", name="uq_policy_value"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, index=True)
    year_from: int
    scope: str = Field(default="*", max_length=16)
    value: Any = Field(sa_column=Column(JSON, nullable=False))
    source: str = ""
