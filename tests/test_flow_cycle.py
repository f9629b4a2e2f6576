"""Lifecycle flows under the session's Prefect test harness, on the seeded county."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session, SQLModel
from zhucun.models import (
    AuditEvent,
    Evaluation,
    Household,
    HouseholdAssessment,
    Plan,
    PlanItem,
    SponsorResource,
    Strategy,
    StrategyMeasure,
    VillageAssessment,
    VillageStatus,
)

from tests.support.county import COUNTY, SeedInfo, add_surveys, seed_county
from tests.support.invariants_lifecycle import check_lifecycle_invariants
from tests.support.lifecycle_fixtures import agency_cadres, make_team, survey
from zhucun.settings import reset_settings

YEAR = 2026
TABLES: tuple[type[SQLModel], ...] = (
    HouseholdAssessment,
    VillageAssessment,
    Plan,
    PlanItem,
    SponsorResource,
    Strategy,
    StrategyMeasure,
    AuditEvent,
)


@pytest.fixture
def county(session: Session, prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> SeedInfo:
    """The seeded county with small batches (several chunks per flow) and teams in the poor
    villages from one sponsor (what dispatch leaves behind)."""
    monkeypatch.setenv("ZHUCUN_BATCH_SIZE", "50")
    reset_settings()
    info = seed_county(session)
    cadres = agency_cadres(session, "省农业农村厅", 30, skip=6)
    for i, v in enumerate(info.poor_villages):
        make_team(session, v, cadres[i * 3 : i * 3 + 3])
    session.commit()
    return info


def counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        m.__name__: session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in TABLES
    }


def stages() -> list[dict[str, Any]]:
    from zhucun.flows.analysis import analyse_villages
    from zhucun.flows.causes import assess_causes
    from zhucun.flows.plans import draft_plans
    from zhucun.flows.strategies import draft_strategies

    return [
        assess_causes(COUNTY, YEAR),
        analyse_villages(COUNTY, YEAR),
        draft_plans(COUNTY, YEAR),
        draft_strategies(COUNTY, YEAR),
    ]


def artifacts(key: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )


def test_stages_run_obey_the_rules_and_a_second_run_changes_nothing(
    session: Session, county: SeedInfo
) -> None:
    causes, analysis, plans, strategies = stages()
    assert causes["households"] == len(county.poor_households)
    # batched by chunks of villages, never by household (set-based causes: large chunks)
    assert 1 <= causes["chunks"] < len(county.poor_households)
    assert analysis["villages"] == len(county.villages)
    assert plans["villages"] == len(county.poor_villages)
    assert strategies["households"] == len(county.poor_households)
    assert check_lifecycle_invariants(session, COUNTY, YEAR) == []
    first = counts(session)
    again = stages()
    assert [s["written"] for s in again] == [0, 0, 0, 0]
    assert counts(session) == first
    for key in (
        "causes-130624-2026",
        "analysis-130624-2026",
        "plans-130624-2026",
        "strategies-130624-2026",
        "sponsors-130624-2026",
        "strategies-130624-2026-progress",
    ):
        assert artifacts(key), key
    # the bar moves at most every 2 s, but always shows the last chunk
    assert {a.data for a in artifacts("strategies-130624-2026-progress")} == {100.0}
    assert "county:130624" in flow_run_tags("causes-130624-2026")
    assert "county:130624" in flow_run_tags("strategies-130624-2026")
    table = artifacts("causes-130624-2026")[0]
    assert "illness" in str(table.data)
    assert not any(n in str(table.data) for n in county.id_numbers.values())


def flow_run_tags(name: str) -> set[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
    assert runs, name
    return set(runs[0].tags)


def test_cli_style_int_county_is_accepted_and_bad_codes_refused(county: SeedInfo) -> None:
    """`prefect deployment run -p county=130624` sends an int: accepted as the code."""
    from zhucun.flows.causes import assess_causes

    assert assess_causes(int(COUNTY), YEAR)["households"] == len(county.poor_households)
    with pytest.raises(Exception, match="pattern|6 digits"):
        assess_causes("13062", YEAR)


def test_run_failing_in_one_chunk_completes_on_rerun_without_duplicates(
    session: Session, county: SeedInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A strategy chunk raises (e.g. the database went away mid-run): the other chunks are
    committed, the flow fails, and a re-run drafts only what is missing."""
    import zhucun.tasks.strategies as ts
    from zhucun.flows.strategies import draft_strategies

    stages()
    bad_village = county.poor_villages[0]
    session.execute(StrategyMeasure.__table__.delete())
    session.execute(Strategy.__table__.delete())
    session.commit()
    original_chunk = ts.draft_chunk

    def draft_chunk(session_: Session, county_: str, year: int, villages: Any) -> Any:
        if bad_village in villages:
            raise RuntimeError("simulated crash in one chunk")
        return original_chunk(session_, county_, year, villages)

    monkeypatch.setattr(ts, "draft_chunk", draft_chunk)
    monkeypatch.setattr("zhucun.flows.strategies.HOUSEHOLDS_PER_TASK", 50)  # several chunks
    with pytest.raises(RuntimeError, match="simulated crash"):
        draft_strategies(COUNTY, YEAR)
    partial = counts(session)["Strategy"]
    assert 0 < partial < len(county.poor_households)
    monkeypatch.setattr(ts, "draft_chunk", original_chunk)
    result = draft_strategies(COUNTY, YEAR)
    assert result["written"] == len(county.poor_households) - partial
    assert counts(session)["Strategy"] == len(county.poor_households)
    assert check_lifecycle_invariants(session, COUNTY, YEAR) == []


def test_evaluation_flow_exits_monitors_and_is_idempotent(
    session: Session, county: SeedInfo
) -> None:
    from zhucun.flows.evaluation import evaluate_progress, monitor_relapse

    started = datetime.now(UTC)
    stages()
    village = county.poor_villages[0]
    members = [h for h in county.poor_households if h.startswith(f"H{village[-3:]}")]
    add_surveys(session, [survey(h, date(2026, 6, 5), 12_000.0) for h in members])
    add_surveys(session, [survey(county.poor_households[-1], date(2026, 6, 5), 4_000.0)])
    session.commit()
    result = evaluate_progress(COUNTY, "2026-06")
    # conditions met, never flipped: exit is proposed (and only with an approved strategy
    # and a delivered measure, which these households lack), so the village stays poor
    assert result["outcomes"]["exit"] == len(members)
    assert result["exit_proposals"] == 0 and result["newly_exit_eligible"] == []
    snapshot = counts(session), _n(session, Evaluation), _n(session, VillageStatus)
    again = evaluate_progress(COUNTY, "2026-06")
    assert again["evaluated"] == 0 and again["newly_exit_eligible"] == []
    assert (counts(session), _n(session, Evaluation), _n(session, VillageStatus)) == snapshot
    assert artifacts("evaluation-130624-2026-06")
    # the exit procedure (review stages, not an evaluation) exits them at the end of June
    session.execute(
        update(Household)
        .where(Household.household_id.in_(members))
        .values(status="exited", exited_period="2026-06")
    )
    # July: one exited household falls under the monitoring threshold (the evaluation
    # reports it, opens nothing); August: another one. The monitoring flow opens both
    # identification procedures (formerly the evaluation opened the first: two rules)
    add_surveys(session, [survey(members[0], date(2026, 7, 3), 5_000.0)])
    add_surveys(session, [survey(members[1], date(2026, 8, 3), 5_000.0)])
    session.commit()
    july = evaluate_progress(COUNTY, "2026-07")
    assert july["outcomes"].get("monitor") == 1 and july["relapse_risk_events"] == 1
    assert july["newly_exit_eligible"] == [village]
    watched = monitor_relapse(COUNTY, "2026-08")
    assert watched["opened"] == watched["monitor_cases"] == 2
    assert watched["relapse_risk_events"] == 2
    assert monitor_relapse(COUNTY, "2026-08")["opened"] == 0
    assert artifacts("monitoring-130624-2026-08")
    picture = artifacts("monitoring-picture-130624-2026-08")
    assert picture and "边缘易致贫户" in str(picture) and members[0] not in str(picture)
    events = wait_for_events(
        {"zhucun.village.exit-eligible": 1, "zhucun.household.relapse-risk": 3}, started
    )
    assert {e.resource.id for e in events["zhucun.village.exit-eligible"]} == {
        f"zhucun.village.{village}"
    }
    assert {e.resource.id for e in events["zhucun.household.relapse-risk"]} == {
        f"zhucun.household.{members[0]}",
        f"zhucun.household.{members[1]}",
    }
    for e in events["zhucun.household.relapse-risk"]:
        assert set(e.payload) == {"county", "period", "outcome"}


def wait_for_events(
    expected: dict[str, int], since: datetime, timeout: float = 20.0
) -> dict[str, list[Any]]:
    """Events reach the API asynchronously: poll until each name has `expected` events."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    deadline = time.monotonic() + timeout
    found: dict[str, list[Any]] = {}
    with get_client(sync_client=True) as client:
        while True:
            for name in expected:
                page = client.read_events(
                    filter=EventFilter(
                        event=EventNameFilter(name=[name]),
                        occurred=EventOccurredFilter(since=since),
                    ),
                    limit=50,
                )
                found[name] = [e for e in page.events if e.payload.get("county") == COUNTY]
            if all(len(found[n]) >= k for n, k in expected.items()):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"events not seen: {found}")
            time.sleep(0.5)


def _n(session: Session, model: type[SQLModel]) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_assistance_cycle_chains_every_stage_and_reruns_to_no_change(
    session: Session, data_dir: object, prefect_harness: None
) -> None:
    """The parent flow with the real dispatch: teams, then plans funded by their sponsors."""
    from zhucun.flows.cycle import assistance_cycle
    from zhucun.models import Team

    info = seed_county(session)
    session.commit()
    first = assistance_cycle(COUNTY, YEAR)
    assert list(first["stages"]) == [
        "causes",
        "analysis",
        "dispatch",
        "plans",
        "strategies",
        "review",
    ]
    assert "waiting" in first["review"] and first["review_run"] is None  # not a deployment
    assert _n(session, Team) > 0
    assert first["stages"]["plans"]["sponsor_yuan"] > 0
    assert check_lifecycle_invariants(session, COUNTY, YEAR) == []
    snapshot = counts(session), _n(session, Team)
    second = assistance_cycle(COUNTY, YEAR, decisions_file=None)
    assert second["stages"]["strategies"]["written"] == 0
    assert (counts(session), _n(session, Team)) == snapshot
    summary = artifacts("cycle-130624-2026")
    assert summary and "strategies" in str(summary[0].data)
    assert not any(n in str(summary[0].data) for n in info.id_numbers.values())
    # Stage runs carry county and cycle; their task runs no tag at all: a tagged task run
    # first asks the server for tag concurrency slots (Prefect 3.9), a round trip per run.
    for stage in ("causes", "dispatch", "strategies", "review"):
        assert {"county:130624", "cycle:2026"} <= flow_run_tags(f"{stage}-130624-2026")
    assert task_run_tags(f"causes-{COUNTY}-{YEAR}") == set()
    assert task_run_tags(f"dispatch-{COUNTY}-{YEAR}") == set()


def task_run_tags(flow_run_name: str) -> set[str]:
    """Every tag of the task runs of the flow runs so named."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        found = client.read_task_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name]))
        )
    assert found, flow_run_name
    return {t for r in found for t in r.tags}


def test_cycle_runs_unattended_from_meeting_minutes_and_never_lets_a_relative_sign(
    session: Session, data_dir: object, prefect_harness: None
) -> None:
    """`zhucun cycle run --decisions minutes.csv`: drafted minutes (every stage signed by
    someone allowed to sign it) take every strategy and plan to approval; the township
    reviewer related to a household head (T0) never signs it, and the household whose head
    is the village party secretary's sibling is co-signed at township level (优亲厚友)."""
    from datetime import date

    from sqlmodel import select
    from zhucun.flows.cycle import assistance_cycle
    from zhucun.models import Decision, Plan, Strategy
    from zhucun.tasks.review_minutes import draft_minutes, write_minutes

    info = seed_county(session)
    session.commit()
    assistance_cycle(COUNTY, YEAR)
    rows = draft_minutes(session, county=COUNTY, cycle_year=YEAR, decided_on=date.today())
    assert session.exec(select(Decision)).all() == [], "drafting the minutes wrote nothing"
    minutes = write_minutes(rows, data_dir / "minutes.csv")  # type: ignore[operator]

    done = assistance_cycle(COUNTY, YEAR, decisions_file=str(minutes))
    assert done["review"] == "all decided"
    session.expire_all()
    assert {s.status for s in session.exec(select(Strategy))} == {"approved"}
    assert {p.status for p in session.exec(select(Plan))} == {"approved"}
    ledger = session.exec(select(Decision)).all()
    assert len(ledger) == len(rows) and {d.outcome for d in ledger} == {"accepted"}

    reviewer, household = info.reviewer_relative_household
    assert not [d for d in ledger if d.subject_id == household and d.reviewer_id == reviewer]
    _, favoured = info.official_relative_household
    committee = [d for d in ledger if d.subject_id == favoured and d.stage == "committee"]
    assert [d.reviewer_id in info.township_reviewers for d in committee] == [True]

    again = assistance_cycle(COUNTY, YEAR, decisions_file=str(minutes))
    assert again["stages"]["review"]["file_accepted"] == 0
    assert len(session.exec(select(Decision)).all()) == len(ledger)
