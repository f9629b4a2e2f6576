"""Measure delivery (措施落实, issue 12.8): states as data, who may record, masked evidence,
files all or nothing, the not-started check and its event."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models.enums import DeliveryState
from zhucun.models.lifecycle import HelperAssignment, MeasureDelivery, Strategy, Team, TeamMember
from zhucun.models.transitions import IllegalTransition
from zhucun.tasks import delivery as T

from tests.support.county import COUNTY, SeedInfo, seed_county
from zhucun.rules import delivery as rules
from zhucun.rules.delivery import DeliveryRecord

YEAR = 2026
APPROVED = date(2026, 3, 1)
TODAY = date(2026, 5, 1)


@pytest.fixture
def county(session: Session) -> SeedInfo:
    info = seed_county(session)
    village = info.poor_villages[0]
    team_id = session.execute(
        insert(Team).returning(Team.team_id),
        [
            dict(
                village_code=village,
                cycle_year=YEAR,
                term_start=date(2026, 1, 1),
                term_end=date(2028, 1, 1),
                leader_cadre_id=info.cadres[0],
                agency="unit",
            )
        ],
    ).scalar_one()
    session.execute(
        insert(TeamMember),
        [
            dict(team_id=team_id, cadre_id=info.cadres[0], role="first_secretary"),
            dict(team_id=team_id, cadre_id=info.cadres[1], role="member"),
        ],
    )
    from zhucun.models.registry import Household

    hh = list(
        session.scalars(
            select(Household.household_id)
            .where(Household.village_code == village, Household.registered_poor.is_(True))
            .order_by(Household.household_id)
            .limit(2)
        )
    )
    for i, hid in enumerate(hh):
        session.add(
            HelperAssignment(
                household_id=hid, cycle_year=YEAR, cadre_id=info.cadres[5], village_code=village
            )
        )
        session.add(
            Strategy(
                household_id=hid,
                village_code=village,
                cycle_year=YEAR,
                measures=["industry", "education"],
                status="approved" if i == 0 else "draft",
                approved_on=APPROVED if i == 0 else None,
            )
        )
    session.commit()
    info.households = hh  # approved first, draft second
    return info


def rec(hid: str, **kw: object) -> DeliveryRecord:
    base = dict(
        household_id=hid,
        cycle_year=YEAR,
        measure="industry",
        state="delivered",
        on=date(2026, 4, 1),
        spent_yuan=1200.0,
        recorded_by="",
        note="",
    )
    return DeliveryRecord(**{**base, **kw})  # type: ignore[arg-type]


def test_transitions_are_data_and_delivered_is_final() -> None:
    rules.check_delivery_transition("planned", "in_delivery")
    rules.check_delivery_transition("in_delivery", "delivered")
    rules.check_delivery_transition("not_delivered", "in_delivery")
    with pytest.raises(IllegalTransition):
        rules.check_delivery_transition("delivered", "in_delivery")
    with pytest.raises(IllegalTransition):
        rules.check_delivery_transition("planned", "planned")


def test_helper_records_a_delivery_and_the_note_is_masked(
    session: Session, county: SeedInfo
) -> None:
    hid, helper = county.households[0], county.cadres[5]
    note = "收款人 13812345678 身份证 130624198001011234 已到账"
    assert T.record(session, [rec(hid, recorded_by=helper, note=note)], today=TODAY) == []
    session.commit()
    d = session.scalars(select(MeasureDelivery)).one()
    assert (d.state, d.spent_yuan, d.recorded_by) == ("delivered", 1200.0, helper)
    assert "13812345678" not in d.note and "130624198001011234" not in d.note
    assert T.delivered_counts(session, [hid], YEAR, YEAR) == {hid: 1}


def test_team_member_may_record_an_outsider_may_not(session: Session, county: SeedInfo) -> None:
    hid = county.households[0]
    assert T.record(session, [rec(hid, recorded_by=county.cadres[1])], today=TODAY) == []
    session.rollback()
    refused = T.record(session, [rec(hid, recorded_by=county.cadres[40])], today=TODAY)
    assert [r.column for r in refused] == ["by"]


def test_draft_strategy_is_never_delivered(session: Session, county: SeedInfo) -> None:
    draft = county.households[1]
    refused = T.record(session, [rec(draft, recorded_by=county.cadres[5])], today=TODAY)
    assert refused and "approved" in refused[0].message


def test_batch_is_all_or_nothing_and_chains_states(session: Session, county: SeedInfo) -> None:
    hid, by = county.households[0], county.cadres[5]
    good = [
        rec(hid, state="in_delivery", spent_yuan=None, recorded_by=by),
        rec(hid, state="delivered", recorded_by=by, on=date(2026, 4, 20)),
    ]
    bad = rec(hid, measure="housing", recorded_by=by)
    refused = T.record(session, [*good, bad], today=TODAY)
    assert [(r.index, r.column) for r in refused] == [(2, "measure")]
    session.rollback()
    assert session.scalars(select(MeasureDelivery)).all() == []
    assert T.record(session, good, today=TODAY) == []
    session.commit()
    assert session.scalars(select(MeasureDelivery.state)).one() == "delivered"
    # delivered is final
    again = T.record(session, [rec(hid, state="in_delivery", recorded_by=by)], today=TODAY)
    assert again and again[0].column == "state"


def test_dates_spent_and_reasons_are_checked(session: Session, county: SeedInfo) -> None:
    hid, by = county.households[0], county.cadres[5]
    cases = [
        (rec(hid, recorded_by=by, on=APPROVED - timedelta(days=1)), "on"),
        (rec(hid, recorded_by=by, on=TODAY + timedelta(days=1)), "on"),
        (rec(hid, recorded_by=by, spent_yuan=None), "spent"),
        (rec(hid, recorded_by=by, state="not_delivered", note=""), "note"),
    ]
    for r, column in cases:
        assert [p.column for p in T.record(session, [r], today=TODAY)] == [column], r


def test_measure_not_started_after_the_policy_days_is_flagged_once(
    session: Session, county: SeedInfo
) -> None:
    hid = county.households[0]
    early = T.flag_not_started(session, COUNTY, YEAR, APPROVED + timedelta(days=10))
    assert early == []
    flagged = T.flag_not_started(session, COUNTY, YEAR, TODAY)
    assert {(f["household_id"], f["measure"]) for f in flagged} == {
        (hid, "industry"),
        (hid, "education"),
    }
    assert all(f["days"] == (TODAY - APPROVED).days for f in flagged)
    assert set(flagged[0]) == {"household_id", "measure", "days"}  # nothing personal
    session.commit()
    assert T.flag_not_started(session, COUNTY, YEAR, TODAY) == []  # once
    rows = T.list_deliveries(session, YEAR, county=COUNTY)
    assert {r["state"] for r in rows} == {DeliveryState.planned.value}


def test_cli_deliver_list_and_import(session: Session, county: SeedInfo, tmp_path: Path) -> None:
    from zhucun.cli import app

    hid, by = county.households[0], county.cadres[5]
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["measures", "deliver", "--household", hid, "--year", str(YEAR), "--measure",
         "industry", "--state", "delivered", "--on", "2026-04-02", "--spent", "1200",
         "--by", by, "--note", "合作社入股凭证"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    bad = tmp_path / "deliveries.csv"
    bad.write_text(
        "household,year,measure,state,on,spent,by,note\n"
        f"{hid},{YEAR},education,in_delivery,2026-04-03,,{by},开学\n"
        f"{hid},{YEAR},education,delivered,2026-04-0x,800,{by},\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["measures", "import", str(bad)])
    assert res.exit_code != 0 and "deliveries.csv:3:on" in res.output
    good = tmp_path / "ok.csv"
    good.write_text(
        "户编号,年度,措施,状态,日期,实际支出,记录人,佐证\n"
        f"{hid},{YEAR},education,in_delivery,2026-04-03,,{by},开学\n"
        f"{hid},{YEAR},education,delivered,2026-04-09,800,{county.cadres[40]},\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["measures", "import", str(good)])
    assert res.exit_code != 0 and "ok.csv:3:by" in res.output  # all or nothing
    res = runner.invoke(app, ["measures", "list", "--year", str(YEAR), "--json"])
    states = {r["measure"]: r["state"] for r in __import__("json").loads(res.output)}
    assert states == {"industry": "delivered", "education": "planned"}


def test_daily_check_flow_emits_the_not_started_event(
    session: Session, county: SeedInfo, prefect_harness: object
) -> None:
    from unittest import mock

    from zhucun.flows import delivery as F

    with mock.patch.object(F, "emit") as emitted:
        out = F.check_measure_delivery(COUNTY, YEAR, today=TODAY.isoformat())
    assert out["flagged"] == 2
    names = {c.args[0] for c in emitted.call_args_list}
    assert names == {"zhucun.measure.not-started"}
    assert all(
        set(c.args[2]) == {"household_id", "measure", "days"} for c in emitted.call_args_list
    )
