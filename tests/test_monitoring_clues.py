"""Monitoring clues (issue 13): the three channels, the 15-day clock, files all or nothing
as file:row:column, dismissal only by someone allowed and with a reason, rows never
deleted, and the daily clocks — one event per county with counts, never per household."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import MonitoringCase, MonitoringClue
from zhucun.models.lifecycle import HelperAssignment, Strategy, StrategyMeasure, Team, TeamMember
from zhucun.tasks import monitoring_clues as T
from zhucun.tasks.review_lock import server_today

from tests.support.county import COUNTY, TOWNSHIP, SeedInfo, seed_county
from zhucun.rules.monitoring import ClueRecord

TODAY = date(2026, 5, 20)
runner = CliRunner()


@pytest.fixture
def county(session: Session) -> SeedInfo:
    info = seed_county(session)
    village = info.villages[-1]  # an ordinary village: its households were never poor
    team_id = session.execute(
        insert(Team).returning(Team.team_id),
        [
            dict(
                village_code=village,
                cycle_year=2026,
                term_start=date(2026, 1, 1),
                term_end=date(2028, 1, 1),
                leader_cadre_id=info.cadres[0],
                agency="unit",
            )
        ],
    ).scalar_one()
    session.execute(
        insert(TeamMember), [dict(team_id=team_id, cadre_id=info.cadres[0], role="member")]
    )
    session.execute(
        insert(HelperAssignment),
        [
            dict(
                household_id=_ordinary(info)[0],
                cycle_year=2026,
                cadre_id=info.cadres[1],
                village_code=village,
            )
        ],
    )
    session.commit()
    return info


def _ordinary(info: SeedInfo) -> list[str]:
    return [h for h in info.households if h.startswith(f"H{info.villages[-1][-3:]}")][2:]


def _clue(hid: str, on: date, **kw: Any) -> ClueRecord:
    kw.setdefault("channel", "sector")
    kw.setdefault("sector", "medical" if kw["channel"] == "sector" else "")
    kw.setdefault("kind", "medical_bill")
    return ClueRecord(hid, kw.pop("channel"), kw.pop("kind"), on, **kw)


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(MonitoringClue)) or 0


def test_a_clue_from_each_channel_starts_the_15_day_clock(
    session: Session, county: SeedInfo
) -> None:
    a, b, c = _ordinary(county)[:3]
    refusals, counts = T.record_clues(
        session,
        [
            _clue(a, date(2026, 5, 1), amount_yuan=32000.0, note="住院 身份证 130624199001011234"),
            _clue(
                b, date(2026, 5, 2), channel="visit", kind="accident", reported_by=county.cadres[1]
            ),
            _clue(c, date(2026, 5, 3), channel="self_report", kind="income_drop"),
        ],
        today=TODAY,
    )
    assert refusals == [] and counts == {"written": 3, "unchanged": 0}
    rows = {r.household_id: r for r in session.scalars(select(MonitoringClue))}
    assert rows[a].due_on == date(2026, 5, 16) and rows[a].status == "open"
    assert "130624199001011234" not in rows[a].note  # stored masked
    assert rows[c].reported_by == "household"
    again, counts = T.record_clues(session, [_clue(a, date(2026, 5, 1))], today=TODAY)
    assert again == [] and counts == {"written": 0, "unchanged": 1}


def test_a_batch_with_one_bad_clue_writes_nothing(session: Session, county: SeedInfo) -> None:
    hid = _ordinary(county)[0]
    refusals, _ = T.record_clues(
        session,
        [
            _clue(hid, date(2026, 5, 1)),
            _clue("H-NOBODY", date(2026, 5, 1)),
            _clue(
                hid, date(2026, 5, 2), channel="visit", kind="accident", reported_by="X-STRANGER"
            ),
            _clue(hid, date(2026, 6, 1)),
        ],
        today=TODAY,
    )
    assert [(r.index, r.column) for r in refusals] == [
        (1, "household"),
        (2, "reported_by"),
        (3, "reported_on"),
    ]
    assert _count(session) == 0


def _write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_cli_imports_sector_alerts_all_or_nothing(
    session: Session, county: SeedInfo, tmp_path: Path
) -> None:
    a, b = _ordinary(county)[:2]
    bad = _write_csv(
        tmp_path / "alerts.csv",
        "户编号,渠道,部门,线索类型,金额,发现日期,报告人,说明\n"
        f"{a},部门筛查预警,医保,大额医疗支出,28000,2026-05-01,,\n"
        f"{b},,住建,房屋受损,-5,2026-05-02,,\n"
        f"{b},,火星,受灾,,2026-05-0x,,\n",
    )
    res = runner.invoke(app(), ["monitor", "clues", "import", str(bad)])
    assert res.exit_code == 1
    lines = [x for x in res.output.splitlines() if x.startswith("alerts.csv:")]
    assert [x.split(": ")[0] for x in lines] == [
        "alerts.csv:3:金额",
        "alerts.csv:4:部门",
        "alerts.csv:4:发现日期",
    ]
    assert _count(session) == 0
    unknown = _write_csv(
        tmp_path / "gb.csv",
        "household_id,sector,kind,reported_on\n"
        f"{a},medical,medical_bill,2026-05-01\nH-NOBODY,education,dropout,2026-05-01\n",
        "gb18030",
    )
    res = runner.invoke(app(), ["monitor", "clues", "import", str(unknown)])
    assert res.exit_code == 1 and "gb.csv:3:household_id: no such household" in res.output
    assert _count(session) == 0
    book = openpyxl.Workbook()
    book.active.append(["户编号", "部门", "线索类型", "金额", "发现日期"])
    book.active.append([a, "医保", "大额医疗支出", 28000, "2026-05-01"])
    book.active.append([b, "应急", "受灾", None, "2026-05-02"])
    book.save(tmp_path / "alerts.xlsx")
    res = runner.invoke(app(), ["monitor", "clues", "import", str(tmp_path / "alerts.xlsx")])
    assert res.exit_code == 0, res.output
    assert {(c.sector, c.channel) for c in session.scalars(select(MonitoringClue))} == {
        ("medical", "sector"),
        ("emergency", "sector"),
    }


def _record_two(session: Session, county: SeedInfo) -> tuple[int, int]:
    """One clue overdue by now (reported 30 days ago), one still in its clock."""
    a, b = _ordinary(county)[:2]
    today = server_today()
    T.record_clues(
        session,
        [_clue(b, today - timedelta(days=3)), _clue(a, today - timedelta(days=30), kind="dropout",
                                                     sector="education")],
    )  # fmt: skip
    session.commit()
    ids = dict(session.execute(select(MonitoringClue.household_id, MonitoringClue.id)).all())
    return ids[a], ids[b]


def test_cli_reports_lists_overdue_first_and_dismisses(
    session: Session, county: SeedInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    hid = _ordinary(county)[2]
    res = runner.invoke(
        app(), ["monitor", "report", "--household", hid, "--kind", "income_drop", "--json"]
    )
    assert res.exit_code == 0, res.output and json.loads(res.output)["written"] == 1
    overdue, fresh = _record_two(session, county)
    monkeypatch.setenv("COLUMNS", "80")
    res = runner.invoke(app(), ["monitor", "clues", "list"])
    assert res.exit_code == 0, res.output
    assert all(len(line) <= 80 for line in res.output.splitlines()), res.output
    assert "超期" in res.output and "第6村" in res.output  # the village name beside its code
    data = json.loads(runner.invoke(app(), ["monitor", "clues", "list", "--json"]).output)
    assert data[0]["id"] == overdue and data[0]["overdue"] is True
    assert "note" not in data[0]
    wide = runner.invoke(app(), ["monitor", "clues", "list", "--wide"])
    assert "理由" in wide.output
    secretary = county.officials[county.villages[-1]]["party_secretary"]
    res = runner.invoke(
        app(), ["monitor", "clues", "dismiss", str(fresh), "--by", secretary, "--reason", "ok"]
    )
    assert res.exit_code == 1 and "--by: only" in res.output
    res = runner.invoke(
        app(),
        ["monitor", "clues", "dismiss", str(overdue), "--by", county.cadres[1], "--reason",
         "入户核实：医保报销后自付 1,200 元，收入稳定"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    session.expire_all()
    row = session.get(MonitoringClue, overdue)
    assert (row.status, row.decided_by) == ("dismissed", county.cadres[1])
    assert row.reason.startswith("入户核实")
    again = runner.invoke(
        app(), ["monitor", "clues", "dismiss", str(overdue), "--by", "T0", "--reason", "x"]
    )
    assert again.exit_code == 1 and "not open" in again.output


def test_who_may_dismiss_follows_the_policy_roles(session: Session, county: SeedInfo) -> None:
    a = _ordinary(county)[0]
    allowed = T.deciders(
        session, {a: county.villages[-1]}, ["reviewer", "approver", "member", "helper"]
    )[a]
    assert allowed == {*county.township_reviewers, *county.county_approvers, county.cadres[0],
                       county.cadres[1]}  # fmt: skip
    assert county.officials[county.villages[-1]]["party_secretary"] not in allowed


def test_a_clue_is_never_deleted(session: Session, county: SeedInfo) -> None:
    _record_two(session, county)
    with pytest.raises(DatabaseError, match="TRIGGER"):
        session.execute(delete(MonitoringClue))
    session.rollback()
    assert _count(session) == 2


def test_overdue_clues_are_flagged_once_and_counted_by_township(
    session: Session, county: SeedInfo
) -> None:
    a, b = _ordinary(county)[:2]
    T.record_clues(session, [_clue(a, date(2026, 4, 1)), _clue(b, date(2026, 5, 10))], today=TODAY)
    first = T.flag_overdue_clues(session, COUNTY, TODAY)
    assert first == {
        "county": COUNTY,
        "overdue": 1,
        "newly_flagged": 1,
        "by_township": {TOWNSHIP: 1},
        "max_days_overdue": 34,
    }
    assert T.flag_overdue_clues(session, COUNTY, TODAY)["newly_flagged"] == 0
    assert T.flag_overdue_clues(session, "522626", TODAY)["overdue"] == 0


def _case(session: Session, hid: str, village: str, opened: date) -> None:
    session.execute(
        insert(MonitoringCase),
        [
            dict(
                household_id=hid,
                village_code=village,
                category="edge",
                trigger="clue",
                opened_period=opened.strftime("%Y-%m"),
                opened_on=opened,
                status="open",
            )
        ],
    )


def test_a_case_without_a_development_measure_a_month_on_is_flagged(
    session: Session, county: SeedInfo
) -> None:
    village = county.villages[-1]
    a, b, c = _ordinary(county)[:3]
    _case(session, a, village, date(2026, 3, 31))  # no measure: flagged
    _case(session, b, village, date(2026, 3, 31))  # a job transfer arranged: fine
    _case(session, c, village, date(2026, 4, 25))  # identified under a month ago
    sid = session.execute(
        insert(Strategy).returning(Strategy.id),
        [dict(household_id=b, village_code=village, cycle_year=2026, measures=["employment"])],
    ).scalar_one()
    session.execute(
        insert(StrategyMeasure),
        [dict(strategy_id=sid, measure="employment", answers_cause="skills", cost_yuan=1500,
              provider="人社局", expected_effect="稳岗")],
    )  # fmt: skip
    policy = T.policy_for(session, COUNTY, 2026)
    out = T.flag_cases_without_measure(session, COUNTY, TODAY, policy)
    assert (out["without_measure"], out["newly_flagged"]) == (1, 1)
    flagged = session.scalars(
        select(MonitoringCase.household_id).where(MonitoringCase.measure_flagged_on.is_not(None))
    ).all()
    assert flagged == [a]
    assert T.flag_cases_without_measure(session, COUNTY, TODAY, policy)["newly_flagged"] == 0


def test_clues_and_cases_of_households_in_two_statements(
    session: Session, county: SeedInfo
) -> None:
    a, b = _ordinary(county)[:2]
    T.record_clues(session, [_clue(a, date(2026, 5, 1))], today=TODAY)
    _case(session, a, county.villages[-1], date(2026, 5, 5))
    out = T.household_monitoring(session, [a, b])
    assert len(out[a]["clues"]) == 1 and len(out[a]["cases"]) == 1
    assert out[b] == {"clues": [], "cases": []}


def test_daily_flow_emits_one_event_per_county_with_counts(
    session: Session, county: SeedInfo, prefect_harness: None
) -> None:
    from zhucun.flows.monitoring_clock import (
        CASE_WITHOUT_MEASURE,
        CLUE_OVERDUE,
        check_monitoring_clocks,
    )

    a, b, c, d = _ordinary(county)[:4]
    T.record_clues(
        session,
        [_clue(a, date(2026, 4, 1)), _clue(b, date(2026, 4, 2)), _clue(c, date(2026, 5, 19))],
        today=TODAY,
    )
    _case(session, d, county.villages[-1], date(2026, 3, 31))  # no measure a month on
    session.commit()
    since = datetime.now(UTC)
    out = check_monitoring_clocks(COUNTY, today=TODAY.isoformat())
    assert out["clues_overdue"] == 2 and out["cases_without_measure"] == 1
    assert out["events"] == 2
    events = _wait_for_events(CLUE_OVERDUE, since)
    assert len(events) == 1 and events[0].resource.id == f"zhucun.county.{COUNTY}"
    assert events[0].payload["overdue"] == 2 and events[0].payload["by_township"] == {TOWNSHIP: 2}
    flagged = _wait_for_events(CASE_WITHOUT_MEASURE, since)
    assert len(flagged) == 1 and flagged[0].payload["by_township"] == {TOWNSHIP: 1}
    for e in (*events, *flagged):
        assert not any(h in json.dumps(e.payload) for h in (a, b, c, d))


def _wait_for_events(name: str, since: datetime, timeout: float = 20.0) -> list[Any]:
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(name=[name]), occurred=EventOccurredFilter(since=since)
                ),
                limit=50,
            )
            found = [e for e in page.events if e.payload.get("county") == COUNTY]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def app() -> Any:
    from zhucun.cli import app as zhucun_app

    return zhucun_app


def test_no_personal_number_reaches_the_output_or_the_database(
    session: Session, county: SeedInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    hid = _ordinary(county)[0]
    idn, phone = county.id_numbers[hid], "13912345678"
    res = runner.invoke(app(), ["monitor", "report", "--household", idn, "--kind", "income_drop"])
    assert res.exit_code == 1 and "--household: no such household" in res.output
    assert idn not in res.output
    res = runner.invoke(
        app(),
        ["monitor", "report", "--household", hid, "--kind", "income_drop", "--note",
         f"户主 {idn} 电话 {phone}"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (clue_id,) = session.scalars(select(MonitoringClue.id)).all()
    res = runner.invoke(
        app(),
        ["monitor", "clues", "dismiss", str(clue_id), "--by", county.cadres[1], "--reason",
         f"已联系 {phone}，收入稳定"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    session.expire_all()
    row = session.get(MonitoringClue, clue_id)
    stored = f"{row.note} {row.reason}"
    assert idn not in stored and phone not in stored
    monkeypatch.setenv("ZHUCUN_LANG", "en")
    from zhucun.settings import reset_settings

    reset_settings()
    wide = runner.invoke(app(), ["monitor", "clues", "list", "--wide"]).output
    assert "dismissed" in wide and phone not in wide and idn not in wide
    assert "Monitoring clues: 1, 0 overdue" in wide
