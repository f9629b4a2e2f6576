"""`zhucun export DIR`: every output file of the contract, streamed from the database.

Rows are fetched in chunks (`yield_per`: a server-side cursor on PostgreSQL) and written as
they come, so a province exports in flat memory. Each file is written under a temporary
name and renamed when complete. ID numbers never leave: no output column carries one, and
any text that looks like a valid ID number (an audit note, a reason) is masked.

CSV is written with a BOM by default (utf-8-sig): Chinese Excel reads a BOM-less file as
the local code page and garbles it. `encoding="gb18030"` is for older Excel. `xlsx=` also
writes one workbook, a sheet per file, with Chinese headers (labels.py) for people.

Both are safe to open: text that Excel would run as a formula is neutralised (cells.py), and
free text (reasons, plan items, audit notes) has ID, phone and bank numbers masked."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable
from contextlib import nullcontext
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from zhucun.exchange.cells import neutralise
from zhucun.exchange.specs import OUTPUT_COLUMNS
from zhucun.exchange.workbook import Workbook
from zhucun.idnumber import id_number_problem
from zhucun.models import (
    AuditEvent,
    Decision,
    Evaluation,
    HelperAssignment,
    Household,
    HouseholdAssessment,
    PlanItem,
    ProcedureCase,
    Shortage,
    Strategy,
    Team,
    TeamMember,
    VillageAssessment,
    VillageStatus,
)
from zhucun.models.lifecycle import strategy_on_record
from zhucun.privacy import mask_id_number, mask_text

CHUNK = 2000
ENCODINGS = ("utf-8-sig", "utf-8", "gb18030")
# Columns people type into: masked for ID, phone and bank numbers as well.
FREE_TEXT_COLUMNS = frozenset(
    {"reason", "refusal_reason", "item", "answers", "missing_members", "before", "after"}
)
_ID_LIKE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def _mask_match(match: re.Match[str]) -> str:
    value = match.group(0)
    return mask_id_number(value) if id_number_problem(value) is None else value


def scrub(text: str) -> str:
    """Mask every valid ID number inside `text` (cheap when the text is short)."""
    if len(text) < 18:
        return text
    return _ID_LIKE.sub(_mask_match, text)


def cell(value: Any, column: str = "") -> str:
    """One value as the exchange format writes it (text neutralised, free text masked)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        text = scrub(value)
    elif isinstance(value, list):
        text = ";".join(scrub(str(v)) for v in value)
    elif isinstance(value, dict):
        text = scrub(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    else:
        return str(value)  # a number stays a number, even a negative one
    return neutralise(mask_text(text) if column in FREE_TEXT_COLUMNS else text)


def _in_county(column: Any, county: str) -> Any:
    """Codes start with their county code (village 12 = township 9 = county 6 + ...)."""
    return column.startswith(county, autoescape=True)


def _queries(county: str | None) -> dict[str, Select[Any]]:
    def by_village(stmt: Select[Any], column: Any) -> Select[Any]:
        return stmt if county is None else stmt.where(_in_county(column, county))

    t, m, h = Team, TeamMember, HelperAssignment
    queries: dict[str, Select[Any]] = {
        "teams.csv": by_village(
            select(
                t.team_id,
                t.village_code,
                t.cycle_year,
                t.term_start,
                t.term_end,
                t.leader_cadre_id,
                t.status,
            ).order_by(t.team_id),
            t.village_code,
        ),
        "team_members.csv": by_village(
            select(m.team_id, m.cadre_id, m.role)
            .join(t, t.team_id == m.team_id)
            .order_by(m.team_id, m.cadre_id),
            t.village_code,
        ),
        "helpers.csv": by_village(
            select(h.household_id, h.cadre_id).order_by(h.cycle_year, h.household_id),
            h.village_code,
        ),
        "shortages.csv": by_village(
            select(
                Shortage.village_code,
                Shortage.cycle_year,
                Shortage.missing_members,
                Shortage.reason,
            ).order_by(Shortage.cycle_year, Shortage.village_code, Shortage.kind),
            Shortage.village_code,
        ),
        "village_assessments.csv": by_village(
            select(
                VillageAssessment.village_code,
                VillageAssessment.cycle_year,
                VillageAssessment.poverty_incidence,
                VillageAssessment.gaps,
                VillageAssessment.top_causes,
            ).order_by(VillageAssessment.cycle_year, VillageAssessment.village_code),
            VillageAssessment.village_code,
        ),
        "household_assessments.csv": by_village(
            select(
                HouseholdAssessment.household_id,
                HouseholdAssessment.cycle_year,
                HouseholdAssessment.main_cause,
                HouseholdAssessment.other_causes,
                HouseholdAssessment.source,
            ).order_by(HouseholdAssessment.cycle_year, HouseholdAssessment.household_id),
            HouseholdAssessment.village_code,
        ),
        "plan_items.csv": by_village(
            select(
                PlanItem.village_code,
                PlanItem.cycle_year,
                PlanItem.category,
                PlanItem.item,
                PlanItem.answers,
                PlanItem.cost_yuan,
                PlanItem.funding_source,
                PlanItem.status,
            ).order_by(PlanItem.cycle_year, PlanItem.village_code, PlanItem.id),
            PlanItem.village_code,
        ),
        "strategies.csv": by_village(
            select(
                Strategy.household_id,
                Strategy.cycle_year,
                Strategy.measures,
                Strategy.cost_yuan,
                Strategy.status,
                Strategy.approved_by,
                Strategy.approved_on,
            )
            .where(strategy_on_record())  # the version in force (a revision once approved)
            .order_by(Strategy.cycle_year, Strategy.household_id),
            Strategy.village_code,
        ),
        "decisions.csv": by_village(
            select(
                Decision.stage,
                Decision.subject,
                Decision.subject_id,
                Decision.reviewer_id,
                Decision.decision,
                Decision.reason,
                Decision.decided_on,
                Decision.decision_id,
                Decision.flow_run_id,
                Decision.outcome,
                Decision.refusal_reason,
            ).order_by(Decision.decision_id),
            Decision.village_code,
        ),
        "procedures.csv": by_village(
            select(
                ProcedureCase.procedure,
                ProcedureCase.subject_id,
                ProcedureCase.village_code,
                ProcedureCase.cycle_year,
                ProcedureCase.status,
                ProcedureCase.version,
                ProcedureCase.origin,
                ProcedureCase.opened_on,
                ProcedureCase.closed_on,
                ProcedureCase.reason,
            ).order_by(ProcedureCase.cycle_year, ProcedureCase.procedure, ProcedureCase.subject_id),
            ProcedureCase.village_code,
        ),
        "evaluations.csv": by_village(
            select(
                Evaluation.household_id,
                Evaluation.period,
                Evaluation.per_capita_income_yuan,
                Evaluation.income_ok,
                Evaluation.guarantees_ok,
                Evaluation.outcome,
            ).order_by(Evaluation.period, Evaluation.household_id),
            Evaluation.village_code,
        ),
        "village_status.csv": by_village(
            select(
                VillageStatus.village_code,
                VillageStatus.period,
                VillageStatus.poverty_incidence,
                VillageStatus.exit_eligible,
            ).order_by(VillageStatus.period, VillageStatus.village_code),
            VillageStatus.village_code,
        ),
    }
    a = AuditEvent
    audit = select(
        a.at, a.actor, a.action, a.entity, a.entity_id, a.before, a.after, a.flow_run_id
    ).order_by(a.id)
    if county is not None:
        # An event belongs to the county when it names one of its codes, households or teams.
        audit = audit.where(
            or_(
                _in_county(a.entity_id, county),
                a.entity_id.in_(
                    select(Household.household_id).where(_in_county(Household.village_code, county))
                ),
                (a.entity == "team")
                & a.entity_id.in_(
                    select(cast(t.team_id, String)).where(_in_county(t.village_code, county))
                ),
            )
        )
    queries["audit.csv"] = audit
    return queries


class ExportError(Exception):
    """Nothing to export from: no database, or one without zhucun's schema."""


def export_folder(
    folder: Path,
    *,
    county: str | None = None,
    engine: Engine | None = None,
    on_file: Callable[[str, int], None] | None = None,
    encoding: str = "utf-8-sig",
    xlsx: Path | None = None,
) -> dict[str, int]:
    """Write every output file into `folder` (and the workbook `xlsx`, if given); returns
    rows written per file."""
    from sqlalchemy import inspect

    from zhucun.db import engine_for
    from zhucun.settings import get_settings

    if engine is None:
        url = get_settings().effective_database_url
        if url.startswith("sqlite:///") and not Path(url.split("///", 1)[1]).exists():
            raise ExportError(f"no database at {url}: run `zhucun import` first")
        engine = engine_for(url)
    if not inspect(engine).has_table(Team.__tablename__):
        raise ExportError("the database has no zhucun schema: run `zhucun db upgrade`")
    if encoding not in ENCODINGS:
        raise ExportError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    folder.mkdir(parents=True, exist_ok=True)
    book = Workbook(xlsx, cell) if xlsx is not None else None
    queries = _queries(county)
    counts: dict[str, int] = {}
    with engine.connect() as conn, book if book is not None else nullcontext():
        for name, header in OUTPUT_COLUMNS.items():
            stmt = queries[name]
            assert [c.key for c in stmt.selected_columns] == list(header), name
            path = folder / name
            tmp = path.with_name(f".{name}.tmp")
            rows = 0
            sheet = book.sheet(name, header) if book is not None else None
            with open(tmp, "w", encoding=encoding, newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                result = conn.execution_options(yield_per=CHUNK).execute(stmt)
                for partition in result.partitions():
                    writer.writerows(
                        [cell(v, c) for v, c in zip(row, header, strict=True)] for row in partition
                    )
                    if sheet is not None:
                        sheet.write(partition)
                    rows += len(partition)
            os.replace(tmp, path)
            counts[name] = rows
            if on_file is not None:
                on_file(name, rows)
    return counts
