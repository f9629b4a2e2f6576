"""Review under mutual supervision (村两委与驻村工作队相互监督): who may decide which stage of
a household strategy or a village plan, and what a decision does.

Plain data in, plain data out; numbers and stage lists come from `Policy`
(`review_stages_strategy`, `review_stages_plan`, `near_relations`, `publicity_days`,
`review_deadline_days`). Sources: domain-rules §1.2 (village checks, township reviews,
county approves, 公示 7 days), §7 (优亲厚友; 近亲属备案: a filed relative forces township-level
review and the related cadre abstains; notices never show ID numbers, phones or health).

Decided here (and why):
- A stage's roles come from policy. Escalating a stage hands it to the roles of the next
  level on the full ladder (`review_stages_plan`: team → committee → township → county), so
  a committee-stage conflict is decided by a township reviewer, a township-stage conflict
  by a county approver — but only when the level has no other eligible reviewer: a
  conflicted person abstains (refused and recorded) and the item stays with the level's
  unconflicted reviewers. The county is the top: there a conflicted approver only abstains.
- Separation of duties holds across the versions of an item within a cycle: a reviewer who
  decided one stage may decide *the same stage* again on a redraft (the first secretary
  re-signs the team stage), but never another stage, or a return-and-redraft would let one
  person sign twice.
- Role is checked before conflict, so that only somebody who could have decided can cause
  an escalation by declaring a conflict.
- People, not role IDs: a cadre ID and an official's person ID may be one human (a party
  secretary also imported as a team member). "Nobody decides twice", "never two stages",
  the approver count and conflicts compare persons — normalised ID numbers (`person_key`),
  normalised again here although imports normalise, so full-width digits never make two
  people of one.
- Time is the server's: a decision date may not lie after `today` (the server's date in
  Asia/Shanghai, given by the caller of `validate`) nor before an accepted decision of an
  earlier stage (or an earlier version) of the item, so minutes cannot be backdated to
  before the committee signed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

from zhucun.models.transitions import MACHINES, check_transition
from zhucun.policy import Policy, ReviewStageRule
from zhucun.rules import procedure as proc
from zhucun.rules.review_people import VillageContext as VillageContext
from zhucun.rules.review_people import kin_index as kin_index
from zhucun.rules.review_people import pair as pair
from zhucun.rules.review_people import person_key as person_key
from zhucun.rules.review_people import spellings as spellings

DECISIONS = ("approve", "reject", "return")
SUBJECTS = ("strategy", "plan", *proc.PROCEDURES)
# Subjects whose item is a household (its head's relatives are conflicted).
HOUSEHOLD_SUBJECTS = frozenset({"strategy"}) | proc.HOUSEHOLD_PROCEDURES
# Statuses that leave the approval chain (never a "next" status of an approval).
_EXITS = frozenset({"returned", "rejected"})


class ReviewConfigError(ValueError):
    """Policy stages that do not fit the status machine of the subject."""


# --- Stages --------------------------------------------------------------------------------


def stages_for(policy: Policy, subject: str) -> list[ReviewStageRule]:
    if subject == "strategy":
        return list(policy.review_stages_strategy)
    if subject == "plan":
        return list(policy.review_stages_plan)
    if subject in proc.PROCEDURES:
        stages = policy.procedure_stages.get(subject) or policy.monitoring_procedure_stages.get(
            subject
        )
        if not stages:
            raise ReviewConfigError(
                f"the policy lists no stages for the {subject} procedure "
                "(`zhucun db upgrade` adds the shipped ones)"
            )
        return list(stages)
    raise ValueError(f"unknown subject {subject!r}")


def ladder(policy: Policy) -> list[ReviewStageRule]:
    """The full ladder of levels, for escalation: the longest of the two stage lists."""
    return max((policy.review_stages_plan, policy.review_stages_strategy), key=len)


def status_chain(subject: str, stages: Sequence[ReviewStageRule] = ()) -> list[str]:
    """draft → … → approved, read off `models.transitions` (the non-exit successors); for a
    procedure, its stages then done."""
    if subject in proc.PROCEDURES:
        return proc.chain(stages)
    return list(_machine_chain(subject))


@lru_cache(maxsize=64)
def _machine_chain(subject: str) -> tuple[str, ...]:
    """The status machine's chain (static data: read once; a county's review asks per item)."""
    machine = MACHINES[subject]
    chain = ["draft"]
    while True:
        nxt = sorted(s for s in machine[chain[-1]] if s not in _EXITS)
        if not nxt:
            return tuple(chain)
        if len(nxt) != 1:
            raise ReviewConfigError(f"{subject}: {chain[-1]} has several next statuses {nxt}")
        chain.append(nxt[0])


def check_stages(subject: str, stages: Sequence[ReviewStageRule]) -> None:
    if subject in proc.PROCEDURES:
        return
    chain = status_chain(subject)
    if len(stages) != len(chain) - 1:
        raise ReviewConfigError(
            f"{subject}: policy lists {len(stages)} review stages but the status machine has "
            f"{len(chain) - 1} approvals ({' → '.join(chain)})"
        )


def waiting_stage(subject: str, status: str, stages: Sequence[ReviewStageRule]) -> str | None:
    """The stage an item in `status` waits for, or None (approved, returned, rejected)."""
    if subject in proc.PROCEDURES:
        return proc.waiting(status, stages)
    check_stages(subject, stages)
    chain = status_chain(subject)
    if status not in chain[:-1]:
        return None
    return stages[chain.index(status)].stage


def next_status(subject: str, stage: str, stages: Sequence[ReviewStageRule]) -> str:
    """The status an approval of `stage` leads to."""
    if subject in proc.PROCEDURES:
        return proc.after(stage, stages)
    chain = status_chain(subject)
    names = [s.stage for s in stages]
    return chain[names.index(stage) + 1]


def stage_rule(stages: Sequence[ReviewStageRule], stage: str) -> ReviewStageRule | None:
    return next((s for s in stages if s.stage == stage), None)


def next_level(level: str, full: Sequence[ReviewStageRule]) -> str | None:
    names = [s.stage for s in full]
    if level not in names or names.index(level) == len(names) - 1:
        return None
    return names[names.index(level) + 1]


def level_roles(
    level: str, stages: Sequence[ReviewStageRule], full: Sequence[ReviewStageRule]
) -> list[str]:
    """Roles of a level: the subject's own stage list first, else the full ladder."""
    rule = stage_rule(stages, level) or stage_rule(full, level)
    return list(rule.roles) if rule else []


@dataclass(frozen=True)
class Item:
    """A strategy (subject_id = household_id) or a plan (subject_id = village_code)."""

    subject: str
    subject_id: str
    cycle_year: int
    village_code: str
    status: str
    version: int = 1
    head_id_number: str | None = None  # household items only; never leaves the rules
    members: frozenset[str] = frozenset()  # names of the household (exit acknowledgement)


@dataclass(frozen=True)
class Past:
    """An accepted decision already in the ledger for the item (this cycle, any version)."""

    reviewer_id: str
    stage: str
    version: int
    decision: str
    person: str | None = None  # normalised ID number; None: look it up from reviewer_id
    decided_on: date | None = None


@dataclass(frozen=True)
class Request:
    subject: str
    subject_id: str
    stage: str
    reviewer_id: str
    decision: str
    reason: str | None
    decided_on: date
    details: Mapping[str, object] | None = None  # a procedure stage's record (tally, who)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    refusal: str | None = None
    # (stage, level, reason): a stage that a higher level must decide from now on
    escalate: tuple[str, str, str] | None = None
    new_status: str | None = None
    column: str | None = None  # the decisions.csv column a refusal points at

    @property
    def final_approval(self) -> bool:
        return self.new_status == "approved"


def standing_escalations(
    item: Item,
    ctx: VillageContext,
    full: Sequence[ReviewStageRule],
    stages: Sequence[ReviewStageRule] = (),
) -> dict[str, tuple[str, str]]:
    """Escalations that hold whatever anybody decides: {stage: (level, reason)}.

    优亲厚友 rule (domain-rules §7, 近亲属备案): a household whose head is a near relative of an
    official of its own village is reviewed by the township — the village committee cannot
    co-sign it, so its committee stage goes to the next level."""
    out = _nobody_to_decide(item, ctx, full, stages)
    if item.subject not in HOUSEHOLD_SUBJECTS or not item.head_id_number:
        return out
    found = ctx.official_relation(item.head_id_number)
    if found is None:
        return out
    pid, rel = found
    level = next_level("committee", full)
    if level is None:
        return {}
    role = next(iter(sorted(ctx.roles.get(pid, frozenset()))), "official")
    return out | {
        "committee": (
            level,
            f"优亲厚友: household head is a near relative ({rel}) of village "
            f"{role} {pid}; the committee cannot co-sign, the {level} decides",
        )
    }


def _nobody_to_decide(
    item: Item,
    ctx: VillageContext,
    full: Sequence[ReviewStageRule],
    stages: Sequence[ReviewStageRule],
) -> dict[str, tuple[str, str]]:
    """A procedure stage that nobody here may decide — no team posted where a non-poor
    household applies, or every holder a near relative of the household — goes up a level
    before anybody tries, so a minutes file and the UI see the same level. A village stage
    goes to the township, never to the village committee the team supervises."""
    if item.subject not in proc.PROCEDURES:
        return {}
    out = {}
    for rule in stages:
        if rule.kind in proc.AUTOMATIC or not rule.roles:
            continue
        holders = [rid for rid, held in sorted(ctx.roles.items()) if held & set(rule.roles)]
        probe = Request(item.subject, item.subject_id, rule.stage, "", "approve", None, date.min)
        free = [h for h in holders if conflict(replace(probe, reviewer_id=h), item, ctx) is None]
        if free:
            continue
        level = next_level(rule.stage, full)
        while level == "committee" and rule.stage != "committee":
            level = next_level(level, full)
        if level:
            why = "nobody here holds" if not holders else "every holder is related to"
            out[rule.stage] = (level, f"{why} the {rule.stage} stage's roles: the {level} decides")
    return out


def conflict(request: Request, item: Item, ctx: VillageContext) -> str | None:
    """Why the reviewer may not decide this item because of a near relative, or None."""
    reviewer_no = ctx.id_numbers.get(request.reviewer_id)
    if item.subject in HOUSEHOLD_SUBJECTS:
        rel = ctx.relation(reviewer_no, item.head_id_number)
        if rel == "self":
            return "the reviewer is the head of this household"
        if rel:
            return f"the reviewer is a near relative ({rel}) of the household head"
        return None
    # A village plan benefits the village's officials: a reviewer related to one cannot
    # decide it (the official deciding in their own role is not their own relative).
    for pid, id_no in sorted(ctx.officials.items()):
        if pid == request.reviewer_id or person_key(id_no) == person_key(reviewer_no):
            continue
        rel = ctx.relation(reviewer_no, id_no)
        if rel and rel != "self":
            return f"the reviewer is a near relative ({rel}) of village official {pid}"
    return None


def eligible_others(
    request: Request,
    item: Item,
    ctx: VillageContext,
    roles: Sequence[str],
    history: Sequence[Past],
) -> list[str]:
    """The other reviewers who could decide this stage at this level: they hold one of its
    roles, are another person, have no conflict and decided no other stage of the item.

    Why: one conflicted reviewer must not take the stage away from unconflicted colleagues
    of the same level (an in-law township reviewer would otherwise hand every household to
    the county); the stage escalates only when the level has nobody eligible left."""
    me = ctx.person(request.reviewer_id) or f"id:{request.reviewer_id.strip()}"
    decided_elsewhere = {
        p.person or ctx.person(p.reviewer_id) or f"id:{p.reviewer_id}"
        for p in history
        if p.stage != request.stage
    }
    out = []
    for rid, held in sorted(ctx.roles.items()):
        if rid == request.reviewer_id or not held & set(roles):
            continue
        person = ctx.person(rid) or f"id:{rid}"
        if person == me or person in decided_elsewhere:
            continue
        if conflict(replace(request, reviewer_id=rid), item, ctx) is None:
            out.append(rid)
    return out


def validate(
    request: Request,
    item: Item | None,
    ctx: VillageContext | None,
    *,
    policy: Policy,
    history: Sequence[Past] = (),
    escalations: Mapping[str, str] | None = None,
    today: date | None = None,
) -> Verdict:
    """Judge one decision. The same function serves the UI form, the CLI and files.

    `escalations` maps a stage of this item to the level that now decides it (stored
    escalations merged with `standing_escalations`)."""
    escalations = escalations or {}
    if request.decision not in DECISIONS:
        return Verdict(False, f"decision must be one of {', '.join(DECISIONS)}", column="decision")
    if request.subject not in SUBJECTS:
        return Verdict(False, f"subject must be one of {', '.join(SUBJECTS)}", column="subject")
    if request.decision != "approve" and not (request.reason or "").strip():
        return Verdict(False, f"a reason is required to {request.decision}", column="reason")
    if not request.reviewer_id.strip():
        return Verdict(False, "reviewer ID is missing", column="reviewer_id")
    if today is not None and request.decided_on > today:
        return Verdict(
            False, f"decided_on {request.decided_on} is in the future", column="decided_on"
        )
    if item is None or ctx is None:
        return Verdict(
            False, f"no {request.subject} {request.subject_id} in this cycle", column="subject_id"
        )
    stages = stages_for(policy, item.subject)
    if stage_rule(stages, request.stage) is None:
        names = ", ".join(s.stage for s in stages)
        return Verdict(
            False, f"a {item.subject} has no stage {request.stage!r} ({names})", column="stage"
        )
    waiting = waiting_stage(item.subject, item.status, stages)
    rule = stage_rule(stages, request.stage)
    if waiting == request.stage and rule is not None and rule.kind in proc.AUTOMATIC:
        return Verdict(False, proc.person_refusal(rule), column="stage")
    if waiting is None:
        return Verdict(
            False, f"the {item.subject} is {item.status}: nothing to decide", column="subject_id"
        )
    if waiting != request.stage:
        return Verdict(
            False,
            f"the {item.subject} waits for the {waiting} stage, not {request.stage}",
            column="stage",
        )

    full = ladder(policy)
    level = escalations.get(request.stage, request.stage)
    roles = level_roles(level, stages, full)
    held = ctx.roles.get(request.reviewer_id, frozenset())
    if not held & set(roles):
        where = f" (escalated to {level})" if level != request.stage else ""
        return Verdict(
            False,
            f"reviewer {request.reviewer_id} does not hold a {request.stage}-stage role"
            f"{where} for village {item.village_code}: needs {' or '.join(roles)}",
            column="reviewer_id",
        )

    me = ctx.person(request.reviewer_id) or f"id:{request.reviewer_id.strip()}"

    def who(p: Past) -> str:
        return p.person or ctx.person(p.reviewer_id) or f"id:{p.reviewer_id}"

    for p in history:
        if who(p) != me:
            continue
        as_ = "" if p.reviewer_id == request.reviewer_id else f" as {p.reviewer_id}"
        if p.stage == request.stage and p.version == item.version:
            return Verdict(
                False,
                f"reviewer {request.reviewer_id} already decided the {p.stage} stage of this "
                f"{item.subject} (version {p.version})"
                + (f": the same person already decided stage {p.stage}{as_}" if as_ else ""),
                column="reviewer_id",
            )
        if p.stage != request.stage:
            return Verdict(
                False,
                f"reviewer {request.reviewer_id}: the same person already decided stage "
                f"{p.stage} of this {item.subject}{as_}; nobody decides two stages of one item",
                column="reviewer_id",
            )

    order = [s.stage for s in stages]
    earlier = [
        p.decided_on
        for p in history
        if p.decided_on is not None
        and (
            p.version < item.version
            or (p.version == item.version and order.index(p.stage) < order.index(request.stage))
        )
        if p.stage in order
    ]
    if earlier and request.decided_on < max(earlier):
        return Verdict(
            False,
            f"decided_on {request.decided_on} is before the item's previous accepted "
            f"decision ({max(earlier)}): a decision cannot precede the stage before it",
            column="decided_on",
        )

    why = conflict(request, item, ctx)
    if why:
        others = eligible_others(request, item, ctx, roles, history)
        up = next_level(level, full)
        if others or up is None:
            # The conflicted person abstains; the item stays with the level's other
            # eligible reviewers and escalates only when none is left.
            left = f" ({len(others)} eligible left)" if others else ""
            return Verdict(
                False,
                f"conflict of interest: {why}; another {level} reviewer must decide{left}",
                column="reviewer_id",
            )
        return Verdict(
            False,
            f"conflict of interest: {why}; the {request.stage} stage escalates to {up}",
            escalate=(request.stage, up, f"conflict of {request.reviewer_id}: {why}"),
            column="reviewer_id",
        )

    if request.decision == "approve" and rule is not None:
        refusal = _record_refusal(rule, request, item)
        if refusal:
            return Verdict(False, refusal, column="details")
    if request.decision == "return":
        _check(item, "returned", stages)
        return Verdict(True, new_status="returned")
    if request.decision == "reject":
        _check(item, "rejected", stages)
        return Verdict(True, new_status="rejected")
    needed = stage_rule(stages, request.stage).approvers  # type: ignore[union-attr]
    approvals = {
        who(p)
        for p in history
        if p.stage == request.stage and p.version == item.version and p.decision == "approve"
    } | {me}
    if len(approvals) < needed:
        return Verdict(True)
    new = next_status(item.subject, request.stage, stages)
    _check(item, new, stages)
    return Verdict(True, new_status=new)


def _check(item: Item, new: str, stages: Sequence[ReviewStageRule]) -> None:
    if item.subject in proc.PROCEDURES:
        proc.check_step(item.status, new, stages)
    else:
        check_transition(item.subject, item.status, new)


def _record_refusal(rule: ReviewStageRule, request: Request, item: Item) -> str | None:
    """What a procedure stage must record before it approves (the tally, who of the
    household acknowledged), or None."""
    if rule.kind == "appraisal":
        return proc.appraisal_refusal(rule, request.details)
    if rule.kind == "acknowledge":
        return proc.acknowledgement_refusal(request.details, item.members)
    return None


# Publicity, time limits and notices live in review_notice; re-exported here.
from zhucun.rules.review_notice import (  # noqa: E402, F401
    _ID_NUMBER,
    _PHONE,
    PRIVATE_MEASURES,
    PUBLIC_PRIVATE_LABEL,
    NoticeRow,
    _zh,
    assert_public,
    is_overdue,
    notice_markdown,
    objection_refusal,
    overdue_groups,
    public_measures,
    publicity_window,
    window_closed,
)
