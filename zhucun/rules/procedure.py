"""Procedures on the review engine (identification 识别, household exit 退出, village exit):
what a stage of each kind needs before it moves on. `zhucun.rules.review.validate` calls
these; they are plain functions of plain data, so tests call them directly.

A procedure's status is the stage it waits for (then `done` or `rejected`), read off the
policy's stage list — there is no second status machine to keep in step.

Decided here (and why):
- 民主评议 needs ≥ `quorum` of the village representatives present (2/3: 昭通 2021) and a
  majority of those present in favour; the tally is recorded with the decision, because
  an auditor asks "how many were there" before "who signed".
- 户认可 is the household's: the person named must be a member of that household (by name
  as registered); the team member who brings the signed form records it. A household that
  does not acknowledge ends the exit (reject), it is never signed for it.
- 公示 and 数据比对 are decided by nobody: the window's close or an objection, and the
  sector findings, move them; a person trying is refused.
- A return (or an objection) sends the case back to its first stage as a new version: the
  appraisal is held again, as an office does after an objection is upheld.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import ceil
from typing import Any

from zhucun.policy import ReviewStageRule

PROCEDURES = ("identify", "exit", "vexit", "monitor", "relieve")
# 防止返贫监测: a monitoring object's identification and its risk elimination (风险消除)
MONITORING_PROCEDURES = frozenset({"monitor", "relieve"})
HOUSEHOLD_PROCEDURES = frozenset({"identify", "exit"}) | MONITORING_PROCEDURES
DONE, REJECTED = "done", "rejected"
AUTOMATIC = frozenset({"publicity", "crosscheck"})  # kinds no person decides
PROCEDURE_ZH = {
    "identify": "贫困户识别",
    "exit": "贫困户退出",
    "vexit": "贫困村退出",
    "monitor": "防止返贫监测对象识别",
    "relieve": "监测对象风险消除",
}


def chain(stages: Sequence[ReviewStageRule]) -> list[str]:
    """The statuses of a case in order: each stage it waits for, then done."""
    return [s.stage for s in stages] + [DONE]


def waiting(status: str, stages: Sequence[ReviewStageRule]) -> str | None:
    return status if status in chain(stages)[:-1] else None


def after(stage: str, stages: Sequence[ReviewStageRule]) -> str:
    """The status a case takes when `stage` is passed."""
    names = chain(stages)
    return names[names.index(stage) + 1]


def check_step(current: str, new: str, stages: Sequence[ReviewStageRule]) -> None:
    """A case moves one stage on, back to its first stage (returned), or out (rejected)."""
    names = chain(stages)
    if current not in names[:-1]:
        raise ValueError(f"a case that is {current} moves no further")
    if new not in (names[names.index(current) + 1], "returned", REJECTED):
        raise ValueError(f"a case at {current} cannot become {new}")


def _int(details: Mapping[str, Any], key: str) -> int | None:
    try:
        value = int(str(details.get(key, "")).strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def appraisal_refusal(rule: ReviewStageRule, details: Mapping[str, Any] | None) -> str | None:
    """Why the recorded 民主评议 tally does not carry the case, or None.

    Example (昭通 2021): 33 representatives, 20 present — under 2/3 (22): no quorum, the
    appraisal must be held again, whatever the vote."""
    details = details or {}
    reps, present, yes = (_int(details, k) for k in ("representatives", "present", "in_favour"))
    if reps is None or present is None or yes is None or reps == 0:
        return (
            "the appraisal tally is missing: give representatives, present and in_favour "
            "(村民代表 total, present, in favour)"
        )
    if present > reps or yes > present:
        return f"the tally does not add up: {yes} in favour of {present} present of {reps}"
    # policy writes 2/3 as 0.6667: read it as the fraction a meeting's rule means
    quorum = Fraction(rule.quorum or 0.0).limit_denominator(12)
    needed = ceil(quorum * reps)
    if present < needed:
        return (
            f"quorum missing: {present} of {reps} representatives present, "
            f"needs at least {needed} ({quorum})"
        )
    if yes * 2 <= present:
        return f"the appraisal did not carry: {yes} of {present} present in favour"
    return None


def acknowledgement_refusal(
    details: Mapping[str, Any] | None, members: frozenset[str]
) -> str | None:
    """Why the 户认可 is not the household's own, or None."""
    who = str((details or {}).get("acknowledged_by", "")).strip()
    if not who:
        return "the acknowledgement names nobody: give acknowledged_by (户主 or a member)"
    if who not in members:
        return f"{who} is not of this household: only the household signs for itself"
    return None


def person_refusal(rule: ReviewStageRule) -> str:
    if rule.kind == "publicity":
        return (
            f"the {rule.stage} stage is a publicity window ({rule.days} days): it closes by "
            "itself, or an objection sends the case back; nobody decides it"
        )
    return f"the {rule.stage} stage is a data cross-check: the sector findings decide it"


def exclusion(
    kinds: Sequence[str], exclusions: Mapping[str, Mapping[str, str]]
) -> tuple[str, str] | None:
    """(kind, effect) of the strongest finding that matters: exclude before strict."""
    hits = [(k, exclusions[k].get("effect", "exclude")) for k in sorted(kinds) if k in exclusions]
    for wanted in ("exclude", "strict"):
        for kind, effect in hits:
            if effect == wanted:
                return kind, effect
    return None


NOTICE_TITLE = {
    ("identify", "publicity1"): "贫困户识别第一次公示",
    ("identify", "publicity2"): "贫困户识别第二次公示",
    ("identify", "announce"): "贫困户识别公告",
    ("exit", "publicity"): "拟退出贫困户公示",
    ("exit", "announce"): "贫困户退出公告",
    ("vexit", "publicity"): "拟退出贫困村公示",
    ("vexit", "announce"): "贫困村退出公告",
    ("monitor", "publicity"): "防止返贫监测对象识别公示",
    ("monitor", "county"): "防止返贫监测对象纳入公告",
    ("monitor", "announce"): "防止返贫监测对象纳入公告",
    ("relieve", "publicity"): "监测对象风险消除公示",
    ("relieve", "announce"): "监测对象风险消除公告",
}


def notice_markdown(
    procedure: str,
    stage: str,
    village: str,
    rows: Sequence[tuple[str, int | None]],
    opens_on: object,
    closes_on: object | None,
) -> str:
    """A village notice (公示 with its window, or 公告): head names and household sizes only
    — never an ID number, phone, bank account or health condition (domain rules §7)."""
    title = NOTICE_TITLE.get((procedure, stage), f"{PROCEDURE_ZH.get(procedure, procedure)}公示")
    lines = [f"## {village} {title}", ""]
    if closes_on is not None:
        lines.append(
            f"公示期：{opens_on} 至 {closes_on}。如有异议，请向村委会、乡镇或拨打"
            " 12317 监督举报电话反映。"
        )
    else:
        lines.append(f"公告日期：{opens_on}。")
    lines += ["", "| 序号 | 户主 | 家庭人口 |", "|---|---|---|"]
    lines += [f"| {n} | {name} | {size or ''} |" for n, (name, size) in enumerate(rows, 1)]
    text = "\n".join(lines) + "\n"
    from zhucun.rules.review import assert_public

    return assert_public(text)
