"""What a reviewer reads above the review form in the Prefect UI, and the review dashboard.

Plain data in, markdown out. Written for the resume dialog of the Prefect UI, which is
narrow: four short columns (户/村, 措施, 金额, 等待自), one table per village under its name,
the people who may decide named in Chinese (name and role, never an ID number), and each
refusal shown once with a count (a township form of 200 items refused for one wrong ID
would otherwise repeat the same sentence 200 times). Head names are shown (the form is
internal); ID numbers, phones and health-revealing measures never (`assert_public`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from zhucun.models.enums import MEMBER_ROLE_ZH, OFFICIAL_ROLE_ZH, REVIEW_STAGE_ZH
from zhucun.reports.fmt import CHINA, yuan
from zhucun.rules.review import assert_public, public_measures

ROLE_ZH: dict[str, str] = {
    **{str(k): v for k, v in MEMBER_ROLE_ZH.items()},
    **{str(k): v for k, v in OFFICIAL_ROLE_ZH.items()},
    "member": "工作队员",
    "helper": "帮扶责任人",
    "reviewer": "乡镇审核人",
    "approver": "县级审批人",
}
STAGE_ZH: dict[str, str] = {str(k): v for k, v in REVIEW_STAGE_ZH.items()}
LEVEL_ZH = {"team": "村级", "committee": "村级", "township": "乡镇级", "county": "县级"}
_VILLAGE_IN_REASON = re.compile(r" for village \d{12}")


def stage_zh(stage: str) -> str:
    return STAGE_ZH.get(stage, stage)


def role_zh(role: str) -> str:
    return ROLE_ZH.get(role, role)


def when_zh(at: datetime | None) -> str:
    """'5月3日 09:00' in China's time (naive values are UTC): short enough for a column."""
    if at is None:
        return "—"
    if at.tzinfo is None:
        from datetime import UTC

        at = at.replace(tzinfo=UTC)
    local = at.astimezone(CHINA)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


@dataclass(frozen=True)
class PendingRow:
    subject: str
    subject_id: str
    label: str  # head name, or the village name for a plan
    version: int
    measures: Sequence[str]
    cost_yuan: float
    decider: str  # the level that decides this item at this stage
    note: str = ""
    village_code: str = ""
    village_name: str = ""
    waiting_since: datetime | None = None


@dataclass(frozen=True)
class Decider:
    """Somebody who may decide (a name and a role code; the reviewer ID is not a 身份证号)."""

    name: str
    role: str
    reviewer_id: str

    def zh(self) -> str:
        return f"{self.name}（{role_zh(self.role)}，编号 {self.reviewer_id}）"


def group_refusals(refusals: Iterable[tuple[str, str]]) -> list[tuple[str, int, list[str]]]:
    """(subject_id, reason) → [(reason, count, first subject IDs)], most frequent first; the
    village code inside a role refusal is dropped so one wrong ID on a township form is
    one line, not one per village."""
    grouped: dict[str, list[str]] = {}
    for sid, reason in refusals:
        grouped.setdefault(_VILLAGE_IN_REASON.sub("", reason), []).append(sid)
    return sorted(((r, len(s), s[:5]) for r, s in grouped.items()), key=lambda x: (-x[1], x[0]))


def form_markdown(
    area_name: str,
    area_code: str,
    stage: str,
    deciders: Sequence[Decider],
    rows: Sequence[PendingRow],
    refusals: Sequence[tuple[str, str]] = (),
) -> str:
    """The description above one review form: a village's team or committee stage, or a
    whole township's (county's) stage, grouped by village."""
    level = LEVEL_ZH.get(stage, "")
    lines = [
        f"## 审核：{area_name}（{area_code}）· {stage_zh(stage)}环节（stage `{stage}`）",
        "",
        f"待审 {len(rows)} 项，涉及 {len({r.village_code for r in rows})} 个村"
        f"（{level}一次审完）。",
        "",
        "**可以决定的人**：" + ("、".join(d.zh() for d in deciders) or "（未登记）"),
        "",
        "在下方填写您的编号，打开 **Approve All**（全部同意），或在 **Decisions** 中逐项填写"
        "（approve 同意 / return 退回修改 / reject 不予批准；退回或不予批准须写理由）。",
        "",
    ]
    if refusals:
        lines += ["**上次提交未被接受（Last submission refused）**：", ""]
        for reason, n, ids in group_refusals(refusals):
            more = "…" if n > len(ids) else ""
            lines.append(f"- {reason} — ×{n}（{'、'.join(ids)}{more}）")
        lines.append("")
    by_village: dict[str, list[PendingRow]] = {}
    for r in rows:
        by_village.setdefault(r.village_code, []).append(r)
    for code, vrows in by_village.items():
        lines += [
            f"### {vrows[0].village_name or code}（{code}）· {len(vrows)} 项",
            "",
            "| 户/村 | 措施 | 金额 | 等待自 |",
            "|---|---|---:|---|",
        ]
        for r in vrows:
            who = (
                f"{r.label} {r.subject_id}" if r.subject == "strategy" else f"村规划 {r.subject_id}"
            )
            who += f" 第{r.version}稿" if r.version > 1 else ""
            if r.decider != stage:
                who += f"（转{LEVEL_ZH.get(r.decider, r.decider)}决定）"
            measures = "、".join(public_measures(r.measures)) or "—"
            lines.append(
                f"| {who} | {measures} | {yuan(r.cost_yuan)} | {when_zh(r.waiting_since)} |"
            )
        lines.append("")
    return assert_public("\n".join(lines))


@dataclass(frozen=True)
class DashboardRow:
    township_code: str
    township_name: str
    stage: str
    strategies: int
    plans: int
    villages: int
    overdue: int
    oldest: datetime | None


def dashboard_markdown(
    county_name: str, county_code: str, cycle_year: int, rows: Sequence[DashboardRow]
) -> str:
    """Waiting review items by township and stage, overdue first (counts and names only)."""
    lines = [
        f"# 审核看板：{county_name}（{county_code}）{cycle_year}年度",
        "",
        f"待审 {sum(r.strategies + r.plans for r in rows)} 项，其中超期 "
        f"{sum(r.overdue for r in rows)} 项。",
        "",
    ]
    if not rows:
        return lines[0] + "\n\n没有待审事项。\n"
    lines += [
        "| 乡镇 | 环节 | 一户一策 | 村规划 | 村数 | 超期 | 最早等待自 |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in sorted(rows, key=lambda r: (-r.overdue, r.township_code, r.stage)):
        lines.append(
            f"| {r.township_name}（{r.township_code}） | {stage_zh(r.stage)}（{r.stage}） | "
            f"{r.strategies} | {r.plans} | {r.villages} | {r.overdue or '—'} | "
            f"{when_zh(r.oldest)} |"
        )
    return assert_public("\n".join(lines) + "\n")
