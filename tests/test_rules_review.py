"""Review rules without a database: each test names the real-world case behind the rule
(domain-rules §1.2 stages and 公示, §7 优亲厚友 and 近亲属备案)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from zhucun.policy import ReviewStageRule, default_policy
from zhucun.rules import review as r

POLICY = default_policy(2026, "east")
D = date(2026, 3, 2)
V = "130624100201"
HEAD = "HEAD-ID"  # opaque ID numbers: the rules only compare them

CTX = r.VillageContext(
    village_code=V,
    roles={
        "C010": frozenset({"first_secretary"}),
        "C011": frozenset({"member"}),
        "PS": frozenset({"party_secretary"}),
        "PD": frozenset({"committee_director"}),
        "T0": frozenset({"reviewer"}),
        "T1": frozenset({"reviewer"}),
        "X0": frozenset({"approver"}),
        "X1": frozenset({"approver"}),
    },
    id_numbers={
        "C010": "c010",
        "C011": "c011",
        "PS": "ps",
        "PD": "pd",
        "T0": "t0",
        "T1": "t1",
        "X0": "x0",
        "X1": "x1",
    },
    relations={
        r.pair("c011", HEAD): "child",
        r.pair("t0", "head-t0"): "in_law",
        r.pair("ps", "head-ps"): "sibling",
        r.pair("x0", "pd"): "spouse",
    },
    officials={"PS": "ps", "PD": "pd"},
)


def item(
    status: str = "draft", head: str = "other", version: int = 1, subject: str = "strategy"
) -> r.Item:
    sid = "H1" if subject == "strategy" else V
    return r.Item(subject, sid, 2026, V, status, version, head if subject == "strategy" else None)


def req(
    stage: str,
    reviewer: str,
    decision: str = "approve",
    reason: str | None = None,
    subject: str = "strategy",
) -> r.Request:
    return r.Request(
        subject, "H1" if subject == "strategy" else V, stage, reviewer, decision, reason, D
    )


def test_status_chain_follows_the_state_machines() -> None:
    assert r.status_chain("strategy") == ["draft", "team_signed", "committee_signed", "approved"]
    assert r.status_chain("plan")[-2:] == ["township_approved", "approved"]
    stages = r.stages_for(POLICY, "plan")
    assert r.waiting_stage("plan", "township_approved", stages) == "county"
    assert r.waiting_stage("strategy", "returned", r.stages_for(POLICY, "strategy")) is None


def test_policy_stages_that_do_not_fit_the_machine_are_a_config_error() -> None:
    """A county that drops the committee stage must also change the state machine."""
    with pytest.raises(r.ReviewConfigError):
        r.check_stages("strategy", [ReviewStageRule(stage="team", roles=["member"])])


def test_team_member_signs_strategy_team_stage() -> None:
    v = r.validate(req("team", "C010"), item(), CTX, policy=POLICY)
    assert v.accepted and v.new_status == "team_signed"


def test_plan_team_stage_needs_the_first_secretary_not_a_member() -> None:
    """Plans are signed by the first secretary (policy review_stages_plan roles)."""
    v = r.validate(req("team", "C011", subject="plan"), item(subject="plan"), CTX, policy=POLICY)
    assert not v.accepted and "first_secretary" in (v.refusal or "")


def test_committee_member_without_the_role_is_refused() -> None:
    """Role check: a township reviewer cannot sign the team stage of a village's strategy."""
    v = r.validate(req("team", "T1"), item(), CTX, policy=POLICY)
    assert not v.accepted and v.column == "reviewer_id" and "team-stage role" in v.refusal


def test_unknown_reviewer_is_refused() -> None:
    v = r.validate(req("team", "NOBODY"), item(), CTX, policy=POLICY)
    assert not v.accepted


def test_decision_for_the_wrong_stage_is_refused() -> None:
    v = r.validate(req("township", "T1"), item("team_signed"), CTX, policy=POLICY)
    assert not v.accepted and v.column == "stage" and "committee" in v.refusal


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_return_and_reject_need_a_reason(decision: str) -> None:
    v = r.validate(req("team", "C010", decision, "  "), item(), CTX, policy=POLICY)
    assert not v.accepted and v.column == "reason"


def test_return_sends_it_back_and_reject_ends_it() -> None:
    assert (
        r.validate(
            req("committee", "PS", "return", "措施与致贫原因不符"),
            item("team_signed"),
            CTX,
            policy=POLICY,
        ).new_status
        == "returned"
    )
    assert (
        r.validate(
            req("committee", "PS", "reject", "不符合条件"), item("team_signed"), CTX, policy=POLICY
        ).new_status
        == "rejected"
    )


def test_unknown_decision_and_future_date_are_refused() -> None:
    assert r.validate(req("team", "C010", "maybe"), item(), CTX, policy=POLICY).column == "decision"
    late = r.Request("strategy", "H1", "team", "C010", "approve", None, D + timedelta(days=3))
    assert r.validate(late, item(), CTX, policy=POLICY, today=D).column == "decided_on"


def test_nobody_decides_twice_in_one_stage() -> None:
    past = [r.Past("C010", "team", 1, "approve")]
    v = r.validate(req("team", "C010"), item(), CTX, policy=POLICY, history=past)
    assert not v.accepted and "already decided" in v.refusal


def test_nobody_decides_two_stages_of_one_item_even_after_a_redraft() -> None:
    """T1 decided the escalated committee stage of version 1; after a return and redraft,
    T1 may not approve the township stage of version 2 (separation of duties holds across
    versions)."""
    past = [r.Past("T1", "committee", 1, "approve")]
    v = r.validate(
        req("township", "T1"), item("committee_signed", version=2), CTX, policy=POLICY, history=past
    )
    assert not v.accepted and "two stages" in v.refusal


def test_first_secretary_re_signs_the_redraft() -> None:
    """Version 2 of a returned strategy is signed again by the same team: same stage, new
    version is not a double decision."""
    past = [r.Past("C010", "team", 1, "approve")]
    v = r.validate(req("team", "C010"), item(version=2), CTX, policy=POLICY, history=past)
    assert v.accepted


def test_reviewer_related_to_the_head_is_refused_and_the_stage_stays_with_the_team() -> None:
    """近亲属: team member C011 is the child of the head; C011 abstains, first secretary C010
    (unconflicted) still signs the team stage: nothing escalates."""
    v = r.validate(req("team", "C011"), item(head=HEAD), CTX, policy=POLICY)
    assert not v.accepted and "child" in v.refusal and v.escalate is None
    assert "another team reviewer" in v.refusal
    assert r.validate(req("team", "C010"), item(head=HEAD), CTX, policy=POLICY).accepted


def test_conflicted_reviewer_escalates_only_when_the_level_has_nobody_left() -> None:
    """A team whose only other member already decided another stage (or is absent): the
    conflicted member's refusal sends the team stage to the committee."""
    alone = r.VillageContext(
        village_code=V,
        roles={k: v for k, v in CTX.roles.items() if k != "C010"},
        id_numbers=CTX.id_numbers,
        relations=CTX.relations,
        officials=CTX.officials,
    )
    v = r.validate(req("team", "C011"), item(head=HEAD), alone, policy=POLICY)
    assert not v.accepted and v.escalate is not None and v.escalate[:2] == ("team", "committee")


def test_in_law_township_reviewer_leaves_the_stage_to_the_other_reviewer() -> None:
    """The real case: township reviewer T0 is an in-law of the head; T0's attempt is refused
    and recorded, and T1 (unconflicted, same township) approves — the stage never moved to
    the county, so T1 is not refused as 'needs approver'."""
    it = item("committee_signed", head="head-t0")
    v = r.validate(req("township", "T0"), it, CTX, policy=POLICY)
    assert not v.accepted and "in_law" in v.refusal and v.escalate is None
    ok = r.validate(req("township", "T1"), it, CTX, policy=POLICY)
    assert ok.accepted and ok.new_status == "approved"


def test_township_reviewer_related_escalates_to_the_county() -> None:
    only_t0 = r.VillageContext(
        village_code=V,
        roles={k: v for k, v in CTX.roles.items() if k != "T1"},
        id_numbers=CTX.id_numbers,
        relations=CTX.relations,
        officials=CTX.officials,
    )
    v = r.validate(
        req("township", "T0"), item("committee_signed", head="head-t0"), only_t0, policy=POLICY
    )
    assert not v.accepted and v.escalate is not None and v.escalate[1] == "county"
    # after the escalation a county approver decides the township stage
    ok = r.validate(
        req("township", "X1"),
        item("committee_signed", head="head-t0"),
        CTX,
        policy=POLICY,
        escalations={"township": "county"},
    )
    assert ok.accepted and ok.new_status == "approved" and ok.final_approval


def test_escalated_stage_refuses_the_original_level() -> None:
    v = r.validate(
        req("committee", "PD"),
        item("team_signed"),
        CTX,
        policy=POLICY,
        escalations={"committee": "township"},
    )
    assert not v.accepted and "escalated to township" in v.refusal


def test_reviewer_deciding_their_own_household_is_a_conflict() -> None:
    v = r.validate(req("committee", "PS"), item("team_signed", head="ps"), CTX, policy=POLICY)
    assert not v.accepted and "head of this household" in v.refusal


def test_village_official_relative_is_always_escalated_to_the_township() -> None:
    """优亲厚友: the party secretary's sibling heads a poor household; the committee cannot
    co-sign it whoever the committee reviewer is."""
    standing = r.standing_escalations(item(head="head-ps"), CTX, r.ladder(POLICY))
    assert standing["committee"][0] == "township" and "优亲厚友" in standing["committee"][1]
    assert r.standing_escalations(item(head="other"), CTX, r.ladder(POLICY)) == {}


def test_plan_reviewer_related_to_a_village_official_cannot_decide_it() -> None:
    """County approver X0 is the spouse of the committee director, who benefits from the
    village plan."""
    v = r.validate(
        req("county", "X0", subject="plan"),
        item("township_approved", subject="plan"),
        CTX,
        policy=POLICY,
    )
    assert not v.accepted and "spouse" in v.refusal and v.escalate is None  # county is the top
    assert r.validate(
        req("county", "X1", subject="plan"),
        item("township_approved", subject="plan"),
        CTX,
        policy=POLICY,
    ).accepted


def test_stage_with_two_approvers_moves_on_the_second_approval() -> None:
    policy = POLICY.model_copy(
        update={
            "review_stages_strategy": [
                ReviewStageRule(stage="team", roles=["first_secretary", "member"], approvers=2),
                *POLICY.review_stages_strategy[1:],
            ]
        }
    )
    first = r.validate(req("team", "C010"), item(), CTX, policy=policy)
    assert first.accepted and first.new_status is None
    second = r.validate(
        req("team", "C011"),
        item(),
        CTX,
        policy=policy,
        history=[r.Past("C010", "team", 1, "approve")],
    )
    assert second.accepted and second.new_status == "team_signed"


def test_publicity_window_is_seven_days_and_objections_only_inside_it() -> None:
    """公示 usually 7 days (domain-rules §1.2)."""
    opens, closes = r.publicity_window(D, POLICY)
    assert (closes - opens).days == POLICY.publicity_days == 7
    assert (
        r.objection_refusal("open", opens, closes, D + timedelta(days=6), "收入不实", "村民")
        is None
    )
    assert "window runs" in r.objection_refusal("open", opens, closes, closes, "收入不实", "村民")
    assert "closed" in r.objection_refusal("closed", opens, closes, D, "x", "村民")
    assert "reason" in r.objection_refusal("open", opens, closes, D, " ", "村民")
    assert r.window_closed(closes, closes) and not r.window_closed(closes, closes - timedelta(1))


def test_overdue_after_the_policy_deadline_with_counts_only() -> None:
    now = datetime(2026, 4, 1, tzinfo=UTC)
    assert r.is_overdue(now - timedelta(days=16), now, POLICY)
    assert not r.is_overdue(now - timedelta(days=14), now, POLICY)
    groups = r.overdue_groups(
        [(V, "team", "strategy"), (V, "team", "plan"), (V, "team", "strategy")]
    )
    assert groups == [{"village": V, "stage": "team", "strategies": 2, "plans": 1}]


def test_notice_shows_names_and_measures_but_no_health_or_ids() -> None:
    """Public notices never show ID numbers, phones or health conditions (§6, §7)."""
    rows = [
        r.NoticeRow(
            "张三", ["health", "industry", "disability_support"], 9000.0, D, D + timedelta(days=7)
        )
    ]
    md = r.notice_markdown("第2村", V, 2026, rows)
    assert "张三" in md and "产业扶贫" in md and "健康扶贫" not in md and "残疾" not in md
    assert "2026-03-02 至 2026-03-08" in md
    with pytest.raises(ValueError):
        r.notice_markdown("第2村", V, 2026, [r.NoticeRow("130624199001011234", [], 0, D, D)])
    with pytest.raises(ValueError):
        r.assert_public("电话 13812345678")


def _first_official_by_loop(ctx: r.VillageContext, head: str) -> tuple[str, str] | None:
    """The reference: every official of the village in person-ID order, `relation` each."""
    for pid, id_no in sorted(ctx.officials.items()):
        if rel := ctx.relation(head, id_no):
            return pid, rel
    return None


def test_official_relation_answers_as_the_loop_over_the_officials() -> None:
    """The standing 优亲厚友 check looks a head up in an index built once per village; on
    generated villages (shared people, self and relatives, several officials related to one
    head, other spellings of one ID number, officials without one) it names the same
    official and relation as comparing the head with every official in turn."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    people = [f"52262619800101{n:04d}" for n in range(8)]
    spelled = st.sampled_from(people).flatmap(
        lambda p: st.sampled_from(
            [p, p.translate(str.maketrans("0123456789", "０１２３４５６７８９"))]
        )
    )
    rel_names = st.sampled_from(["spouse", "parent", "child", "sibling"])

    @settings(max_examples=300, deadline=None)
    @given(
        officials=st.dictionaries(
            st.sampled_from(["P1", "P2", "P3", "P4"]), st.one_of(st.none(), spelled), max_size=4
        ),
        relations=st.dictionaries(
            st.tuples(st.sampled_from(people), st.sampled_from(people)).filter(
                lambda t: t[0] != t[1]
            ),
            rel_names,
            max_size=10,
        ),
        head=spelled,
        shared=st.booleans(),
    )
    def check(
        officials: dict[str, str | None],
        relations: dict[tuple[str, str], str],
        head: str,
        shared: bool,
    ) -> None:
        pairs = {r.pair(a, b): rel for (a, b), rel in relations.items()}
        ctx = r.VillageContext(
            village_code="522626100001",
            roles={},
            id_numbers={},
            relations=pairs,
            officials=officials,  # type: ignore[arg-type]
            kin=r.kin_index(pairs) if shared else None,
        )
        assert ctx.official_relation(head) == _first_official_by_loop(ctx, head)

    check()
