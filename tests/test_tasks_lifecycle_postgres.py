"""The lifecycle tasks on PostgreSQL: dialect upserts, the sponsor row lock, JSON columns."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import AuditEvent, Evaluation, SponsorResource
from zhucun.tasks.analysis import analyse_villages_task
from zhucun.tasks.causes import assess_causes_task
from zhucun.tasks.common import Scope
from zhucun.tasks.evaluation import evaluate_progress_task
from zhucun.tasks.plans import draft_plans_task, sponsor_groups
from zhucun.tasks.strategies import draft_strategies_task

from tests.support.county import COUNTY, add_surveys, seed_county
from tests.support.invariants_lifecycle import check_lifecycle_invariants
from tests.support.lifecycle_fixtures import agency_cadres, make_team, survey
from zhucun.db import get_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_session: Session) -> Session:
    return pg_session


def run_cycle(villages: list[str]) -> list[int]:
    written = [
        assess_causes_task.fn(COUNTY, 2026, villages)["written"],
        analyse_villages_task.fn(COUNTY, 2026, villages)["written"],
    ]
    with Session(get_engine()) as s:
        groups = sponsor_groups(s, Scope(county=COUNTY), 2026)
    written.append(
        sum(
            draft_plans_task.fn(COUNTY, 2026, g["agency"], g["villages"])["written"] for g in groups
        )
    )
    written.append(draft_strategies_task.fn(COUNTY, 2026, villages)["written"])
    return written


def test_stages_on_postgresql_obey_the_rules_and_rerun_to_no_change(pg: Session) -> None:
    info = seed_county(pg)
    cadres = agency_cadres(pg, "县卫生健康局", 12, skip=4)
    for i, v in enumerate(info.poor_villages):
        make_team(pg, v, cadres[i * 3 : i * 3 + 3])
    pg.add(SponsorResource(agency="县卫生健康局", cycle_year=2026, budget_yuan=2_500_000))
    pg.commit()
    assert all(n > 0 for n in run_cycle(info.villages))
    assert check_lifecycle_invariants(pg, COUNTY, 2026) == []
    audits = pg.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert run_cycle(info.villages) == [0, 0, 0, 0]
    assert pg.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == audits
    # the latest survey on or before the period's end decides: not an older one, not a later
    sample = info.poor_households[:10]
    add_surveys(pg, [survey(h, date(2026, 3, 1), 1000.0) for h in sample])
    add_surveys(pg, [survey(h, date(2026, 6, 1), 9000.0) for h in sample])
    add_surveys(pg, [survey(h, date(2026, 7, 1), 1000.0) for h in sample])
    pg.commit()
    result = evaluate_progress_task.fn(COUNTY, "2026-06", info.villages)
    assert result["outcomes"]["exit"] == 10
    assert evaluate_progress_task.fn(COUNTY, "2026-06", info.villages)["evaluated"] == 0
    assert pg.execute(select(func.count()).select_from(Evaluation)).scalar_one() == len(
        info.poor_households
    )


def test_a_sponsor_group_whose_plans_get_no_item_on_postgresql(pg: Session, tmp_path: Path) -> None:
    """施秉 (522623) at 300 households: a sponsor's villages get plans without items; the
    empty insert of their items was `INSERT … DEFAULT VALUES` on PostgreSQL (NotNull)."""
    from zhucun.models import Village
    from zhucun.tasks.dispatch import dispatch_chunks_task, dispatch_villages_task
    from zhucun.tasks.plans import draft_plan_groups_task

    from zhucun.exchange.importer import import_folder
    from zhucun.generator import generate

    county = "522623"
    generate(county, tmp_path / "reg", households=300, seed=2, year=2026)
    assert import_folder(tmp_path / "reg").ok
    villages = list(pg.scalars(select(Village.village_code).where(Village.county_code == county)))
    assess_causes_task.fn(county, 2026, villages)
    analyse_villages_task.fn(county, 2026, villages)
    for i, chunk in enumerate(dispatch_chunks_task.fn(county, 2026, None, False)):
        dispatch_villages_task.fn(county, 2026, chunk, i, False)
    with Session(get_engine()) as s:
        groups = sponsor_groups(s, Scope(county=county), 2026)
    parts = draft_plan_groups_task.fn(county, 2026, groups)
    assert len(parts) == len(groups) and sum(p["written"] for p in parts) > 0
