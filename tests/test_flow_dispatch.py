"""The dispatch flows under the session's Prefect test harness, on the seeded county."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel
from zhucun.models import AuditEvent, HelperAssignment, Shortage, Team, TeamMember

from tests.support.county import COUNTY, SeedInfo, seed_county
from tests.support.invariants_dispatch import check_dispatch_invariants

YEAR = 2026
TABLES: tuple[type[SQLModel], ...] = (Team, TeamMember, HelperAssignment, Shortage, AuditEvent)


def counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        m.__name__: session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in TABLES
    }


def artifacts(key: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )


def flow_run(state: Any) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


@pytest.fixture
def short_county(session: Session, prefect_harness: None) -> SeedInfo:
    """The seeded county with 14 cadres: not enough for every seat, so shortages appear."""
    info = seed_county(session, cadres=14)
    session.commit()
    return info


def test_dispatch_cycle_twice_second_run_changes_nothing_and_leaves_artifacts(
    session: Session, short_county: SeedInfo
) -> None:
    from zhucun.flows.dispatch import dispatch_cycle

    state = dispatch_cycle(COUNTY, YEAR, return_state=True)
    result = state.result()
    run = flow_run(state)
    assert run.name == f"dispatch-{COUNTY}-{YEAR}"
    assert f"county:{COUNTY}" in run.tags
    assert result["teams_formed"] >= 1 and result["shortages_recorded"] >= 1
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []
    first = counts(session)
    assert first["Shortage"] == result["shortages_open"]

    again_state = dispatch_cycle(COUNTY, YEAR, return_state=True)
    again = again_state.result()
    assert (again["teams_formed"], again["helpers_assigned"], again["shortages_recorded"]) == (
        0,
        0,
        0,
    )
    assert counts(session) == first, "no new row, no new audit row"

    key = f"dispatch-{COUNTY}-{YEAR}"
    # Other tests of the session share the harness server and the county's key: keep ours.
    ours = {state.state_details.flow_run_id, again_state.state_details.flow_run_id}
    tables = [a for a in artifacts(key) if a.flow_run_id in ours]
    assert len(tables) == 2, "one table per run, under one key"
    table = tables[0]
    assert table.type == "table"
    text = str(table.data)
    for col in ("team_size", "leader", "agency", "helpers", "shortages"):
        assert col in text
    (md,) = [a for a in artifacts(f"{key}-shortages") if a.flow_run_id == run.id][:1]
    assert "Cadre shortages" in str(md.data) and "| helper |" in str(md.data)
    assert artifacts(f"{key}-progress")
    for a in (*tables, md):
        assert not any(idn in str(a.data) for idn in short_county.id_numbers.values())


def test_county_code_from_the_prefect_cli_as_int_and_bad_codes_refused(
    session: Session, short_county: SeedInfo
) -> None:
    from zhucun.flows.dispatch import dispatch_cycle

    assert dispatch_cycle(int(COUNTY), YEAR)["county"] == COUNTY
    with pytest.raises(Exception, match="pattern|6 digits"):
        dispatch_cycle("13062", YEAR)


def test_review_team_terms_ends_the_old_teams_and_sends_new_ones(
    session: Session, prefect_harness: None
) -> None:
    """Two years after a 2026 dispatch, the terms have ended: the teams end, their members
    are released, and the villages get 2028 teams from the same dispatch."""
    from zhucun.flows.dispatch import dispatch_cycle, review_team_terms

    info = seed_county(session)
    session.commit()
    dispatch_cycle(COUNTY, YEAR)
    result = review_team_terms(COUNTY, YEAR + 2)
    assert result["ended"] == len(info.poor_villages)
    assert result["dispatch"]["teams_formed"] == len(info.poor_villages)
    session.expire_all()
    statuses = dict(
        session.execute(
            select(Team.cycle_year, func.count())
            .where(Team.status == "active")
            .group_by(Team.cycle_year)
        ).all()
    )
    assert statuses == {YEAR + 2: len(info.poor_villages)}
    assert check_dispatch_invariants(session, COUNTY, YEAR + 2) == []
    again = review_team_terms(COUNTY, YEAR + 2)
    assert again["ended"] == 0 and again["dispatch"]["teams_formed"] == 0


def test_a_run_failing_in_one_chunk_completes_on_rerun_without_duplicates(
    session: Session, prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second chunk's task raises (the database went away): the neediest chunk is
    committed, the flow fails; the re-run serves the rest, with no duplicate."""
    import zhucun.tasks.dispatch as td
    from zhucun.flows.dispatch import dispatch_cycle

    monkeypatch.setattr(td, "DISPATCH_HOUSEHOLDS_PER_CHUNK", 200)  # several chunks
    info = seed_county(session, households_per_village=60, cadres=120)
    session.commit()
    original = td.dispatch_chunk
    calls: list[int] = []

    def failing(session_: Session, county: str, year: int, villages: Any, **kw: Any) -> Any:
        calls.append(len(villages))
        if len(calls) > 1:
            raise RuntimeError("simulated crash in a later chunk")
        return original(session_, county, year, villages, **kw)

    monkeypatch.setattr(td, "dispatch_chunk", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        dispatch_cycle(COUNTY, YEAR)
    partial = counts(session)
    assert 0 < partial["HelperAssignment"] < len(info.poor_households)
    monkeypatch.setattr(td, "dispatch_chunk", original)
    dispatch_cycle(COUNTY, YEAR)
    assert counts(session)["HelperAssignment"] == len(info.poor_households)
    assert counts(session)["Team"] == len(info.poor_villages)
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []
