"""The county report's shape: sections of formatted tables and chart specifications, so
the PDF, the HTML and the Prefect artifact render one and the same content."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session

from zhucun.models import Village
from zhucun.reports.fmt import named, zh_date


@dataclass(frozen=True)
class TableData:
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class ChartSpec:
    """A bar or line chart: `series` maps a legend label to one value per x label."""

    key: str
    kind: str  # bar / hbar / line
    title: str
    labels: list[str]
    series: dict[str, list[float]]
    ylabel: str = ""


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[TableData] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # ChartSpec keys, in order


@dataclass
class CountyReport:
    county: str
    county_name: str
    province: str
    year: int
    generated_on: date
    sections: list[Section]
    charts: dict[str, ChartSpec]

    @property
    def title(self) -> str:
        return f"{self.county_name}{self.year}年度驻村帮扶工作进展报告"

    @property
    def subtitle(self) -> str:
        where = named(self.county_name, self.county)
        return f"{self.province} {where}　生成日期 {zh_date(self.generated_on)}"


@dataclass(frozen=True)
class Ctx:
    session: Session
    county: str
    year: int
    villages: dict[str, Village]
    towns: dict[str, str]

    def village(self, code: str) -> str:
        v = self.villages.get(code)
        return named(v.name if v else None, code)

    def township(self, village_code: str) -> str:
        v = self.villages.get(village_code)
        code = v.township_code if v else village_code[:9]
        return named(self.towns.get(code), code)

    def in_county(self, column: Any) -> ColumnElement[bool]:
        return column.like(f"{self.county}%")


def count(x: Any) -> str:
    return f"{int(x or 0):,}"
