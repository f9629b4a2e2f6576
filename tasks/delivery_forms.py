"""The UI form of measure delivery (措施落实, flows/delivery_forms.py): which villages have
measures still to deliver, the form of one village (its measures listed, one prefilled entry
per measure), and a submission turned into `rules.delivery.DeliveryRecord`s for
`tasks.delivery.record` — the one engine behind `zhucun measures deliver` and `import`
(same checks: who records, transitions, dates, amounts, masked notes; all or nothing).

Each submission leaves one audit row (`measure_delivery_form`, entity the village, with the
flow run): accepted, refused (the masked reasons, shown on the next form) or empty (nothing
to record now). The run reads these rows to know which villages it has finished and the
form's pause key counts them, so a suspended run re-run from the top reaches the same key
and receives its input. A refused submission writes no delivery, only that audit row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import AuditEvent, Household, Village
from zhucun.models.enums import MEASURE_ZH, DeliveryState
from zhucun.models.lifecycle import HelperAssignment, Team, TeamMember
from zhucun.tasks.common import audit_many
from zhucun.tasks.delivery import list_deliveries, record
from zhucun.tasks.review_load import policy_for
from zhucun.tasks.review_lock import server_today

from zhucun.db import session_scope
from zhucun.privacy import mask_name, mask_text
from zhucun.reports.fmt import yuan
from zhucun.rules.delivery import DeliveryRecord

ACTION = "measure_delivery_form"
STATE_ZH = {
    DeliveryState.planned.value: "未启动",
    DeliveryState.in_delivery.value: "实施中",
    DeliveryState.delivered.value: "已落实",
    DeliveryState.not_delivered.value: "未落实",
}
OPEN = (DeliveryState.planned.value, DeliveryState.in_delivery.value)
TEAM_ROLE_ZH = {"first_secretary": "第一书记", "leader": "队长", "member": "工作队员"}


def _open(session: Session, county: str, cycle_year: int, village: str | None) -> list[dict]:
    """Measures of the strategies in force not yet delivered or not delivered."""
    rows = list_deliveries(session, cycle_year, county=county, village=village)
    return [r for r in rows if r["state"] in OPEN]


def _forms(session: Session, cycle_year: int, village: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == ACTION,
                AuditEvent.entity == "village",
                AuditEvent.entity_id == f"{village}/{cycle_year}",
            )
            .order_by(AuditEvent.id)
        )
    )


def pending_villages(
    session: Session, county: str, cycle_year: int, village: str | None, flow_run_id: str | None
) -> list[str]:
    """Villages with measures to deliver whose form this run has not finished (a refused
    submission is not finished: its form comes again)."""
    villages = sorted({r["village_code"] for r in _open(session, county, cycle_year, village)})
    if not flow_run_id or not villages:
        return villages
    done = {
        entity_id
        for entity_id, after in session.execute(
            select(AuditEvent.entity_id, AuditEvent.after).where(
                AuditEvent.action == ACTION, AuditEvent.flow_run_id == flow_run_id
            )
        )
        if (after or {}).get("outcome") != "refused"
    }
    return [v for v in villages if f"{v}/{cycle_year}" not in done]


def _recorders(session: Session, village: str, cycle_year: int) -> tuple[dict, list[tuple]]:
    helpers = dict(
        session.execute(
            select(HelperAssignment.household_id, HelperAssignment.cadre_id).where(
                HelperAssignment.village_code == village, HelperAssignment.cycle_year == cycle_year
            )
        ).all()
    )
    team = session.execute(
        select(TeamMember.cadre_id, TeamMember.role)
        .join(Team, Team.team_id == TeamMember.team_id)
        .where(Team.village_code == village, Team.status == "active", TeamMember.active)
        .order_by(TeamMember.cadre_id)
    ).all()
    return helpers, [tuple(t) for t in team]


def form(session: Session, county: str, cycle_year: int, village: str) -> dict[str, Any]:
    """The form of one village: markdown (Chinese labels first), the prefilled entries (one
    per open measure), how many, the pause key (moves with every submission) and the wait."""
    rows = _open(session, county, cycle_year, village)
    ids = sorted({r["household_id"] for r in rows})
    heads = dict(
        session.execute(
            select(Household.household_id, Household.head_name).where(
                Household.household_id.in_(ids)
            )
        ).all()
    )
    name = session.scalar(select(Village.name).where(Village.village_code == village)) or ""
    helpers, team = _recorders(session, village, cycle_year)
    lines = [
        f"# 措施落实登记 · {name}（{village}）· {cycle_year}年度",
        "",
        "逐项填写新状态（实施中 in_delivery / 已落实 delivered / 未落实 not_delivered）、日期、"
        "实际支出（元）和佐证说明；状态不变的项不记录。已落实须填实际支出，未落实须写原因。"
        "记录人须为本户帮扶责任人或本村工作队员。全部通过才写入（任何一项不通过则都不写入）。",
        "",
        "| 户编号 | 户主 | 措施 | 当前状态 | 已支出 | 帮扶责任人 |",
        "|---|---|---|---|---|---|",
    ]
    entries = []
    for r in rows:
        hid, m, st = r["household_id"], r["measure"], r["state"]
        head = mask_name(heads.get(hid))
        zh = MEASURE_ZH.get(m, m)
        lines.append(
            f"| {hid} | {head} | {zh}（{m}） | {STATE_ZH.get(st, st)}（{st}） "
            f"| {yuan(r['spent_yuan']) if r['spent_yuan'] is not None else '—'} "
            f"| {helpers.get(hid, '—')} |"
        )
        entries.append(
            dict(
                item=f"{hid} {head} · {zh} · 当前{STATE_ZH.get(st, st)}",
                household_id=hid,
                measure=m,
                current=st,
                state=st,
            )
        )
    lines += ["", "本村工作队员（可为本村各户记录）:", ""]
    lines += [f"- `{cid}`（{TEAM_ROLE_ZH.get(role, role)}）" for cid, role in team] or ["- —"]
    forms = _forms(session, cycle_year, village)
    last = (forms[-1].after or {}) if forms else {}
    if last.get("outcome") == "refused":
        lines += ["", "上次提交未通过，未写入任何记录 (last submission refused, nothing written):"]
        lines += [""] + [f"- {why}" for why in last.get("refused", [])]
    policy = policy_for(session, county, cycle_year)
    return {
        "markdown": "\n".join(lines) + "\n",
        "entries": entries,
        "items": len(entries),
        "deadline_seconds": policy.review_deadline_days * 86400,
        "key": f"delivery-{village}-{cycle_year}-{len(forms)}",
    }


def _records(
    answer: Mapping[str, Any], cycle_year: int, today: date
) -> tuple[list[DeliveryRecord], list[str]]:
    """Entries someone changed → records (the form's recorder unless the entry names one),
    with a label per record for its refusals."""
    by = str(answer.get("recorded_by") or "").strip()
    records, labels = [], []
    for e in answer.get("entries") or []:
        state = str(e.get("state") or "").strip()
        on, spent, note = e.get("on"), e.get("spent_yuan"), str(e.get("note") or "")
        if state == str(e.get("current") or "") and on is None and spent is None and not note:
            continue  # untouched
        hid, measure = str(e.get("household_id") or "").strip(), str(e.get("measure") or "")
        records.append(
            DeliveryRecord(
                hid,
                cycle_year,
                measure.strip(),
                state,
                date.fromisoformat(str(on)) if on else today,
                None if spent is None else float(spent),
                str(e.get("recorded_by") or "").strip() or by,
                note,
            )
        )
        labels.append(f"{hid} {MEASURE_ZH.get(measure, measure)}（{measure}）")
    return records, labels


def submit(
    session: Session, cycle_year: int, village: str, answer: Mapping[str, Any], *, today: date
) -> dict[str, Any]:
    """A submitted form through `tasks.delivery.record` (all or nothing) and its audit row."""
    records, labels = _records(answer, cycle_year, today)
    refusals = record(session, records, today=today, source="ui") if records else []
    if refusals:
        session.rollback()  # nothing half-written
    refused = [f"{labels[r.index]} · {r.column}: {mask_text(r.message)}" for r in refusals]
    outcome = "refused" if refused else "accepted" if records else "empty"
    written = 0 if refused else len(records)
    spent = sum(r.spent_yuan or 0 for r in records) if written else 0
    audit_many(
        session,
        [
            dict(
                actor="zhucun:measures:ui",
                action=ACTION,
                entity="village",
                entity_id=f"{village}/{cycle_year}",
                after=dict(outcome=outcome, written=written, refused=refused, spent_yuan=spent),
            )
        ],
    )
    return {"outcome": outcome, "written": written, "refused": len(refused), "spent_yuan": spent}


# --- Prefect tasks: one session, one commit, a small summary ---------------------------------


@task(cache_policy=NO_CACHE, name="delivery-pending-villages")
def pending_villages_task(
    county: str, cycle_year: int, village: str | None, flow_run_id: str | None
) -> list[str]:
    with session_scope() as session:
        return pending_villages(session, county, cycle_year, village, flow_run_id)


@task(cache_policy=NO_CACHE, name="delivery-form", task_run_name="delivery-form-{village}")
def form_task(county: str, cycle_year: int, village: str) -> dict[str, Any]:
    with session_scope() as session:
        return form(session, county, cycle_year, village)


@task(cache_policy=NO_CACHE, name="delivery-submit", task_run_name="delivery-submit-{village}")
def submit_task(cycle_year: int, village: str, answer: dict[str, Any]) -> dict[str, Any]:
    with session_scope() as session:
        return submit(session, cycle_year, village, answer, today=server_today())


@task(cache_policy=NO_CACHE, name="delivery-forms-summary")
def run_rows_task(cycle_year: int, flow_run_id: str | None) -> list[dict[str, Any]]:
    """The run's artifact table from its audit rows (so a suspended run counts every form
    it waited for): per village, counts and money only, nobody's name."""
    if not flow_run_id:
        return []
    rows: dict[str, dict[str, Any]] = {}
    with session_scope() as session:
        for entity_id, after in session.execute(
            select(AuditEvent.entity_id, AuditEvent.after)
            .where(AuditEvent.action == ACTION, AuditEvent.flow_run_id == flow_run_id)
            .order_by(AuditEvent.id)
        ):
            village, _, year = entity_id.partition("/")
            if year != str(cycle_year):
                continue
            after = after or {}
            r = rows.setdefault(village, {"村代码": village, "表单": 0, "写入": 0, "未通过": 0,
                                          "spent": 0.0})  # fmt: skip
            r["表单"] += 1
            r["写入"] += int(after.get("written", 0))
            r["未通过"] += len(after.get("refused", []))
            r["spent"] += float(after.get("spent_yuan", 0))
    return [{**{k: v for k, v in r.items() if k != "spent"}, "实际支出": yuan(r["spent"])}
            for r in rows.values()]  # fmt: skip
