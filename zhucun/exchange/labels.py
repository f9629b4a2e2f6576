"""Chinese labels of the output columns, for people: the header row of the `--xlsx`
workbook (CSV headers stay the stable English codes of the contract).

One table, so a report or a UI can reuse the same words; a test checks that every output
column has a label."""

from __future__ import annotations

COLUMN_LABELS: dict[str, str] = {
    "team_id": "工作队编号",
    "village_code": "村代码",
    "cycle_year": "年度",
    "term_start": "任期开始",
    "term_end": "任期结束",
    "leader_cadre_id": "队长干部编号",
    "status": "状态",
    "cadre_id": "干部编号",
    "role": "职务",
    "household_id": "户编号",
    "missing_members": "缺员人数",
    "reason": "原因",
    "poverty_incidence": "贫困发生率",
    "gaps": "短板",
    "top_causes": "主要致贫原因",
    "main_cause": "主要致贫原因",
    "other_causes": "其他致贫原因",
    "source": "来源",
    "category": "类别",
    "item": "项目",
    "answers": "针对短板",
    "cost_yuan": "金额（元）",
    "funding_source": "资金来源",
    "measures": "帮扶措施",
    "approved_by": "审批人",
    "approved_on": "审批日期",
    "stage": "审核环节",
    "subject": "审核对象",
    "subject_id": "对象编号",
    "reviewer_id": "审核人编号",
    "decision": "决定",
    "decided_on": "决定日期",
    "decision_id": "决定编号",
    "flow_run_id": "流程运行编号",
    "outcome": "结果",
    "refusal_reason": "不予受理原因",
    "procedure": "程序",
    "version": "版本",
    "origin": "启动途径",
    "opened_on": "启动日期",
    "closed_on": "办结日期",
    "period": "期间",
    "per_capita_income_yuan": "人均纯收入（元）",
    "income_ok": "收入达标",
    "guarantees_ok": "两不愁三保障",
    "exit_eligible": "符合退出条件",
    "at": "时间",
    "actor": "操作人",
    "action": "操作",
    "entity": "对象类型",
    "entity_id": "对象编号",
    "before": "变更前",
    "after": "变更后",
}

# Columns held as text in a workbook even when the value is a number: an ID or a code
# turned into a number loses leading zeros and, past 15 digits, its last digits.
TEXT_COLUMNS = frozenset(
    name for name in COLUMN_LABELS if name.endswith(("_id", "_code", "_by")) or name == "period"
)

# Column widths in characters (a CJK character counts two); the rest get their label's.
WIDE_COLUMNS: dict[str, int] = {
    "reason": 40,
    "refusal_reason": 40,
    "measures": 40,
    "answers": 30,
    "item": 30,
    "gaps": 24,
    "top_causes": 24,
    "other_causes": 24,
    "before": 50,
    "after": 50,
    "flow_run_id": 38,
    "at": 26,
}


def label(column: str) -> str:
    return COLUMN_LABELS.get(column, column)


def width(column: str) -> int:
    """A sensible width: the wide table, else the longer of label and code (min 10)."""
    if column in WIDE_COLUMNS:
        return WIDE_COLUMNS[column]
    text = label(column)
    shown = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return max(10, shown + 2, len(column) + 2)
