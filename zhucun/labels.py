"""The words an operator reads, in their language (`ZHUCUN_LANG=zh|en`, default zh).

Files and JSON keep the stable English codes; only the CLI's people-facing text goes
through here. One table maps (kind, code) → (zh, en). The Chinese comes from where it
already lives — models/enums.py (causes, measures, review stages …), zhucun/exchange/
labels.py (export columns) and zhucun/reports/fmt.py (statuses, funds, providers) — so
each label has one source; only words no other module needs are written here (CLI headers,
cycle stages) or in zhucun/labels_policy.py (policy keys and the codes in their values).
Money and time helpers are the report's own (`yuan`, Asia/Shanghai), re-exported so the
CLI and the PDF print money the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from zhucun.exchange.labels import COLUMN_LABELS
from zhucun.labels_policy import POLICY_WORDS
from zhucun.models import enums
from zhucun.models import monitoring as mon
from zhucun.reports import fmt
from zhucun.reports.fmt import CHINA, yuan, zh_period

__all__ = ["CHINA", "header", "label", "lang", "local_time", "place", "tr", "yuan", "zh_period"]

# Words only the CLI uses: table headers and the stages of the cycle.
_CLI: dict[str, dict[str, tuple[str, str]]] = {
    "header": {
        "stage": ("环节", "stage"),
        "result": ("结果", "result"),
        "outcome": ("结果", "outcome"),
        "households": ("户数", "households"),
        "file": ("文件", "file"),
        "table": ("数据表", "table"),
        "rows": ("行数", "rows"),
        "inserted": ("新增", "inserted"),
        "updated": ("更新", "updated"),
        "unchanged": ("未变", "unchanged"),
        "warnings": ("警告", "warnings"),
        "village": ("村", "village"),
        "household": ("户编号", "household"),
        "member": ("人编号", "member"),
        "detail": ("说明", "detail"),
        "subject": ("对象", "subject"),
        "id": ("编号", "id"),
        "name": ("名称", "name"),
        "version": ("版本", "v"),
        "decided_by": ("决定层级", "decided by"),
        "waiting": ("已等待", "waiting"),
        "overdue": ("超期", "overdue"),
        "since": ("进入时间", "since"),
        "key": ("项目", "key"),
        "value": ("值", "value"),
        "count": ("数量", "count"),
        "channel": ("渠道", "channel"),
        "sector": ("部门", "sector"),
        "clue_kind": ("线索", "clue"),
        "amount": ("金额", "amount"),
        "reported_on": ("发现日期", "reported"),
        "due_on": ("办结期限", "due"),
        "clue_status": ("状态", "status"),
        "dismissed_by": ("排除人", "dismissed by"),
        "reason": ("理由", "reason"),
        "category": ("监测类型", "category"),
        "risk_type": ("风险类型", "risk type"),
        "policy": ("政策项目", "policy"),
    },
    "cycle_stage": {
        "generate": ("生成登记数据", "generate"),
        "import": ("导入", "import"),
        "causes": ("致贫原因认定", "causes"),
        "analysis": ("村情分析", "village analysis"),
        "dispatch": ("选派工作队", "dispatch"),
        "plans": ("村发展规划", "village plans"),
        "strategies": ("一户一策", "household strategies"),
        "review": ("审核", "review"),
        "evaluation": ("成效评估", "evaluation"),
    },
}

# Chinese labels that live elsewhere: one source each.
_ZH_SOURCES: dict[str, Mapping[Any, str]] = {
    "column": COLUMN_LABELS,
    "cause": enums.CAUSE_ZH,
    "measure": enums.MEASURE_ZH,
    "review_stage": enums.REVIEW_STAGE_ZH,
    "subject": enums.REVIEW_SUBJECT_ZH,
    "decision": enums.DECISION_ZH,
    "decision_outcome": enums.DECISION_OUTCOME_ZH,
    "member_role": enums.MEMBER_ROLE_ZH,
    "official_role": enums.OFFICIAL_ROLE_ZH,
    "household_status": fmt.STATUS_ZH,
    "evaluation_outcome": fmt.OUTCOME_ZH,
    "review_status": fmt.REVIEW_STATUS_ZH,
    "funding": fmt.FUNDING_ZH,
    "category": fmt.CATEGORY_ZH,
    "provider": fmt.PROVIDER_ZH,
    "clue_channel": mon.CHANNEL_ZH,
    "clue_sector": mon.SECTOR_ZH,
    "clue_kind": mon.CLUE_KIND_ZH,
    "clue_status": mon.CLUE_STATUS_ZH,
    "risk_type": mon.RISK_TYPE_ZH,
    "monitoring_category": mon.MONITORING_CATEGORY_ZH,
}


def _english(code: str) -> str:
    return code.replace("_", " ")


@cache
def table() -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, code) → (zh, en); English is the code in words unless the CLI says otherwise."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for kind, source in _ZH_SOURCES.items():
        for code, zh in source.items():
            out[(kind, str(code))] = (zh, _english(str(code)))
    for words_by_kind in (_CLI, POLICY_WORDS):
        for kind, words in words_by_kind.items():
            for code, pair in words.items():
                out[(kind, code)] = pair
    return out


def lang() -> str:
    from zhucun.settings import get_settings

    return get_settings().lang


def tr(zh: str, en: str) -> str:
    """A sentence in the operator's language (both versions written where it is used)."""
    return zh if lang() == "zh" else en


def label(kind: str, code: object) -> str:
    """The operator's word for `code` of `kind`; an unknown code is shown as it is."""
    pair = table().get((kind, str(code)))
    if pair is None:
        return str(code)
    return pair[0] if lang() == "zh" else pair[1]


def header(code: str) -> str:
    """A table header: the CLI's word, else the export column's."""
    return label("header", code) if ("header", code) in table() else label("column", code)


def place(code: str, name: str | None) -> str:
    """'130624100201 龙门村': the code a clerk files by, the name a reader knows."""
    return f"{code} {name}" if name else code


def local_time(value: datetime | str | None) -> str:
    """A moment in China's time (Asia/Shanghai), to the minute; naive values are UTC."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
