"""Review, the parts people read and the clock: publicity windows (公示) and objections,
time limits, and the public notice — which never shows an ID number, a phone or a health
condition (domain rules §6, §7). Split from `zhucun.rules.review`, which re-exports every
name, so `rules.publicity_window` and the like keep working."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from zhucun.models.enums import MEASURE_ZH, Measure
from zhucun.policy import Policy

# A public notice must not reveal a health condition (domain-rules §6: notices never show
# health details); these measures would, so the notice shows a neutral label instead.
PRIVATE_MEASURES = frozenset({Measure.health.value, Measure.disability_support.value})
PUBLIC_PRIVATE_LABEL = "综合保障措施"

_ID_NUMBER = re.compile(r"\d{17}[\dXx]")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


# --- Publicity (公示) ------------------------------------------------------------------------


def publicity_window(opens_on: date, policy: Policy) -> tuple[date, date]:
    """(opens_on, closes_on): objections are heard on `publicity_days` days from opening."""
    return opens_on, opens_on + timedelta(days=policy.publicity_days)


def objection_refusal(
    status: str | None,
    opens_on: date | None,
    closes_on: date | None,
    filed_on: date,
    reason: str,
    filed_by: str,
) -> str | None:
    """Why an objection cannot be heard, or None."""
    if not reason.strip():
        return "an objection needs a reason"
    if not filed_by.strip():
        return "an objection needs the name of who files it"
    if status is None or opens_on is None or closes_on is None:
        return "the item is not in publicity"
    if status != "open":
        return f"the publicity window is {status}"
    if filed_on < opens_on or filed_on >= closes_on:
        return f"the publicity window runs {opens_on} to {closes_on - timedelta(days=1)}"
    return None


def window_closed(closes_on: date, today: date) -> bool:
    return today >= closes_on


# --- Time limits -----------------------------------------------------------------------------


def is_overdue(entered_at: datetime, now: datetime, policy: Policy) -> bool:
    return now - entered_at > timedelta(days=policy.review_deadline_days)


def overdue_groups(rows: Iterable[tuple[str, str, str]]) -> list[dict[str, object]]:
    """(village, stage, subject) of overdue items → one summary per village and stage with
    counts only (the `zhucun.review.overdue` payload: nothing personal)."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for village, stage, subject in rows:
        counts = groups.setdefault((village, stage), {"strategy": 0, "plan": 0})
        counts[subject] = counts.get(subject, 0) + 1
    return [
        {"village": v, "stage": s, "strategies": c["strategy"], "plans": c["plan"]}
        for (v, s), c in sorted(groups.items())
    ]


# --- What people read --------------------------------------------------------------------------


def public_measures(measures: Iterable[str]) -> list[str]:
    """Measure names for a public notice; measures that reveal health become neutral."""
    out: list[str] = []
    for m in measures:
        label = PUBLIC_PRIVATE_LABEL if m in PRIVATE_MEASURES else _zh(m)
        if label not in out:
            out.append(label)
    return out


def _zh(measure: str) -> str:
    try:
        return MEASURE_ZH[Measure(measure)]
    except ValueError:
        return measure


def assert_public(text: str) -> str:
    """Refuse text that would publish an ID number or a mobile number."""
    if _ID_NUMBER.search(text) or _PHONE.search(text):
        raise ValueError("public text would carry an ID number or a phone number")
    return text


@dataclass(frozen=True)
class NoticeRow:
    head_name: str
    measures: Sequence[str]
    cost_yuan: float
    opens_on: date
    closes_on: date


def notice_markdown(
    village_name: str,
    village_code: str,
    cycle_year: int,
    rows: Sequence[NoticeRow],
    plan: tuple[float, Sequence[str], date, date] | None = None,
) -> str:
    """The 公示 notice posted in the village: names and measures, never ID numbers, phones
    or health details; objections by the last day of the window, or the 12317 hotline."""
    lines = [
        f"# {village_name}（{village_code}）{cycle_year}年度帮扶措施公示",
        "",
        "根据精准扶贫“一户一策”要求，经驻村工作队、村两委和乡镇审核，现将下列帮扶措施予以公示。",
        "",
    ]
    if rows:
        lines += ["| 序号 | 户主姓名 | 帮扶措施 | 金额（元） | 公示期 |", "|---|---|---|---|---|"]
        for i, r in enumerate(sorted(rows, key=lambda r: r.head_name), 1):
            last = r.closes_on - timedelta(days=1)
            lines.append(
                f"| {i} | {r.head_name} | {'、'.join(public_measures(r.measures))} | "
                f"{r.cost_yuan:,.0f} | {r.opens_on:%Y-%m-%d} 至 {last:%Y-%m-%d} |"
            )
    else:
        lines.append("本期无公示中的户帮扶措施。")
    if plan is not None:
        cost, items, opens, closes = plan
        lines += [
            "",
            f"## 村发展规划（{opens:%Y-%m-%d} 至 {closes - timedelta(days=1):%Y-%m-%d}）",
            "",
            f"项目 {len(items)} 项，估算总额 {cost:,.0f} 元：" + "；".join(items),
        ]
    lines += [
        "",
        "如有异议，请在公示期内向村两委、驻村工作队或乡镇反映，也可拨打扶贫监督举报电话 12317。",
        "",
    ]
    return assert_public("\n".join(lines))


# The review form and dashboard (what a reviewer reads) are in `zhucun.rules.review_form`.
