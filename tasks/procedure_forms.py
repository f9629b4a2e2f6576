"""The UI form of a procedure stage (identification 识别, household exit 退出, village exit,
monitoring's identification and risk elimination):
what waits for a person, the form of one signing body and stage, and a submission turned
into requests for `tasks.review_ledger.decide` — the same validation (`rules.review.validate`,
quorum, acknowledgement, conflicts, nobody deciding two stages) and the same ledger as the
CLI, decisions files and minutes. Only stages a person decides get a form; a publicity
window or the cross-check moves by itself (`flows.procedures.procedures_daily`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import County, Decision, Household, ProcedureCase, Township, Village
from zhucun.tasks.review_forms import deciders, decision_count, group_items
from zhucun.tasks.review_ledger import decide
from zhucun.tasks.review_load import load_contexts, policy_for
from zhucun.tasks.review_lock import server_today

from zhucun.db import session_scope
from zhucun.policy import Policy, ReviewStageRule
from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

# What a stage of each kind asks on the form besides approve / return / reject.
KIND_ZH = {
    "appraisal": "民主评议：填写村民代表总数、到会人数、赞成人数（到会须达法定比例）",
    "acknowledge": "签字认可（退出）或承诺授权（监测）：逐户填写签字的户主或家庭成员姓名",
    "announce": "公告：县级审批人确认公告",
}
ROLE_ZH = {
    "party_secretary": "村党支部书记",
    "committee_director": "村委会主任",
    "committee_member": "村两委委员",
    "first_secretary": "第一书记",
    "member": "工作队员",
    "helper": "帮扶责任人",
    "reviewer": "乡镇审核人",
    "approver": "县级审批人",
}


def level_digits(rule: ReviewStageRule) -> int:
    """How much of a village code names the body that signs: the county's approvers sign
    for the county (6 digits), the township's reviewers for the township (9), the rest for
    the village (12) — one form per signing body, as the strategy review."""
    if "approver" in rule.roles:
        return 6
    if "reviewer" in rule.roles:
        return 9
    return 12


def _rules(policy: Policy, procedure: str) -> dict[str, ReviewStageRule]:
    return {s.stage: s for s in rules.stages_for(policy, procedure)}


def pending_forms(
    session: Session, county: str, procedure: str, cycle_year: int, *, policy: Policy
) -> list[dict[str, Any]]:
    """(stage, area, villages, cases) of each form to show, stages in order, a person's
    stages only."""
    stages = _rules(policy, procedure)
    order = {s: i for i, s in enumerate(stages)}
    manual = [s for s, r in stages.items() if r.kind not in proc.AUTOMATIC]
    units: dict[tuple[str, str], dict[str, Any]] = {}
    for village, status, n in session.execute(
        select(ProcedureCase.village_code, ProcedureCase.status, func.count())
        .where(
            ProcedureCase.procedure == procedure,
            ProcedureCase.cycle_year == cycle_year,
            ProcedureCase.village_code.like(f"{county}%"),
            ProcedureCase.status.in_(manual),
        )
        .group_by(ProcedureCase.village_code, ProcedureCase.status)
    ):
        area = village[: level_digits(stages[status])]
        u = units.setdefault((status, area), dict(stage=status, area=area, villages=[], cases=0))
        u["villages"].append(village)
        u["cases"] += int(n)
    return sorted(
        ({**u, "villages": sorted(u["villages"])} for u in units.values()),
        key=lambda u: (order[u["stage"]], u["area"]),
    )


def _area_name(session: Session, area: str) -> str:
    model, col = {12: (Village, Village.village_code), 9: (Township, Township.township_code)}.get(
        len(area), (County, County.county_code)
    )
    return str(session.scalar(select(model.name).where(col == area)) or area)


def _cases(
    session: Session,
    procedure: str,
    cycle_year: int,
    villages: Sequence[str],
    stage: str,
    policy: Policy,
) -> list[dict[str, Any]]:
    """The cases at `stage` with the names the form shows (head name, village name: what a
    公示 shows; never an ID number), who decides each (escalations) and since when."""
    items = {
        i["subject_id"]: i
        for i in group_items(
            session, cycle_year, villages, stage, policy=policy, subjects=(procedure,)
        )
    }
    heads = dict(
        session.execute(
            select(Household.household_id, Household.head_name).where(
                Household.household_id.in_(list(items))
            )
        ).all()
    )
    return [
        {**i, "label": heads.get(sid) or i["village_name"]}
        for sid, i in sorted(items.items(), key=lambda x: (x[1]["village_code"], x[0]))
    ]


def form(
    session: Session,
    county: str,
    procedure: str,
    cycle_year: int,
    area: str,
    stage: str,
    villages: Sequence[str],
    *,
    policy: Policy,
) -> dict[str, Any]:
    """The form of one signing body and stage: its markdown (Chinese labels), its kind, how
    many cases, and the key of its pause (moves when the ledger does)."""
    rule = _rules(policy, procedure)[stage]
    cases = _cases(session, procedure, cycle_year, villages, stage, policy)
    roles = list(dict.fromkeys(r for c in cases for r in c["roles"])) or list(rule.roles)
    people = deciders(session, cycle_year, villages, roles, policy=policy)
    title = f"{proc.PROCEDURE_ZH[procedure]} · {rule.zh or stage} · {_area_name(session, area)}"
    lines = [f"# {title}", "", f"Stage `{stage}` ({procedure}), {area}, {cycle_year}.", ""]
    if rule.kind in KIND_ZH:
        lines += [KIND_ZH[rule.kind] + ".", ""]
    if rule.kind == "appraisal" and rule.quorum:
        lines += [f"法定到会比例 quorum: {rule.quorum:.0%} of the representatives.", ""]
    lines += [
        "| 户编号/村代码 | 户主/村 | 村 | 版本 | 决定层级 | 备注 |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['subject_id']} | {c['label']} | {c['village_name']} | {c['version']} "
        f"| {c['decider']} | {c['note']} |"
        for c in cases
    ]
    lines += ["", "可以决定的人 (who may decide):", ""]
    lines += [f"- {name}（{ROLE_ZH.get(role, role)}）: `{rid}`" for name, role, rid in people]
    refusals = last_refusals(session, procedure, cycle_year, villages, stage)
    if refusals:
        lines += ["", "Last submission refused:", ""]
        lines += [f"- {sid}: {why}" for sid, why in refusals]
    return {
        "markdown": "\n".join(lines) + "\n",
        "kind": rule.kind,
        "items": len(cases),
        "deadline_seconds": policy.review_deadline_days * 86400,
        "key": f"{procedure}-{area}-{stage}-{decision_count(session, cycle_year, county)}",
    }


def last_refusals(
    session: Session, procedure: str, cycle_year: int, villages: Sequence[str], stage: str
) -> list[tuple[str, str]]:
    """(case, reason) of the refusals of the latest submission at this stage."""
    where = (
        Decision.subject == procedure,
        Decision.cycle_year == cycle_year,
        Decision.village_code.in_(list(villages)),
        Decision.stage == stage,
    )
    latest = session.scalar(select(func.max(Decision.received_at)).where(*where))
    if latest is None:
        return []
    rows = session.execute(
        select(Decision.subject_id, Decision.refusal_reason)
        .where(*where, Decision.received_at == latest, Decision.outcome == "refused")
        .order_by(Decision.decision_id)
    )
    return [(r.subject_id, r.refusal_reason or "") for r in rows]


def _int(v: Any) -> int | None:
    return None if v is None or str(v).strip() == "" else int(v)


def requests(
    session: Session,
    procedure: str,
    cycle_year: int,
    villages: Sequence[str],
    stage: str,
    answer: Mapping[str, Any],
    *,
    policy: Policy,
    decided_on: date,
) -> list[rules.Request]:
    """A submitted form → one request per case: approve-all covers the cases this reviewer's
    level decides (all of them if none, so each refusal is recorded); an item listed
    explicitly wins; an empty form is refused for every case, never dropped. The appraisal
    tally and the acknowledgement go into the request's details, as the CLI puts them."""
    cases = _cases(session, procedure, cycle_year, villages, stage, policy)
    ctxs = load_contexts(session, sorted({c["village_code"] for c in cases}), policy, cycle_year)
    rid = str(answer.get("reviewer_id") or "").strip()
    tally = {
        k: _int(answer.get(k)) for k in ("representatives", "present", "in_favour") if k in answer
    }
    explicit = {
        str(d.get("subject_id", "")).strip(): d
        for d in answer.get("decisions") or []
        if str(d.get("subject_id", "")).strip()
    }

    def req(sid: str, decision: str, reason: str | None, item: Mapping[str, Any]) -> Any:
        details: dict[str, Any] = {k: v for k, v in tally.items() if v is not None}
        if _int(item.get("in_favour")) is not None:
            details["in_favour"] = _int(item.get("in_favour"))
        by = str(item.get("acknowledged_by") or "").strip()
        if by:
            details["acknowledged_by"] = by
        return rules.Request(procedure, sid, stage, rid, decision, reason, decided_on,
                             details or None)  # fmt: skip

    out = []
    if answer.get("approve_all"):
        mine = [c for c in cases if ctxs[c["village_code"]].roles.get(rid, frozenset())
                & set(c["roles"])]  # fmt: skip
        out += [req(c["subject_id"], "approve", None, {}) for c in mine or cases
                if c["subject_id"] not in explicit]  # fmt: skip
    for sid, d in explicit.items():
        reason = str(d.get("reason") or "").strip() or None
        out.append(req(sid, str(d.get("decision", "")).strip(), reason, d))
    if not out:
        why = "no decision given: tick approve_all or list cases"
        out = [req(c["subject_id"], "none", why, {}) for c in cases]
    return out


# --- Prefect tasks: one session, one commit, a small summary ---------------------------------


@task(cache_policy=NO_CACHE, name="procedure-pending-forms")
def pending_forms_task(county: str, procedure: str, cycle_year: int) -> list[dict[str, Any]]:
    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        return pending_forms(session, county, procedure, cycle_year, policy=policy)


@task(cache_policy=NO_CACHE, name="procedure-form", task_run_name="procedure-form-{area}-{stage}")
def form_task(
    county: str, procedure: str, cycle_year: int, area: str, stage: str, villages: list[str]
) -> dict[str, Any]:
    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        return form(session, county, procedure, cycle_year, area, stage, villages, policy=policy)


@task(
    cache_policy=NO_CACHE,
    name="procedure-submit",
    task_run_name="procedure-submit-{area}-{stage}",
)
def submit_task(
    county: str,
    procedure: str,
    cycle_year: int,
    area: str,
    stage: str,
    villages: list[str],
    answer: dict[str, Any],
) -> dict[str, Any]:
    """A submitted form through `decide`: the one path (validation, ledger, exactly once)."""
    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        today = server_today()
        reqs = requests(session, procedure, cycle_year, villages, stage, answer,
                        policy=policy, decided_on=today)  # fmt: skip
        res = decide(session, reqs, cycle_year=cycle_year, channel="ui", county=county, today=today)
        return res.counts()
