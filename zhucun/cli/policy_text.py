"""`zhucun policy show` for a person: every key by its label in the operator's language with
its code beneath (the code is what `policy set`, the TOML and `--json` use), and values
whose codes are labelled too (`配偶 spouse`), money as ¥, rates as they are."""

from __future__ import annotations

from typing import Any

from rich.text import Text

# key → the label kind of the codes in its value: a list of codes, or a mapping's keys
CODE_KINDS = {
    "region": "region",
    "near_relations": "relation",
    "monitoring_development_measures": "measure",
    "monitoring_clue_deciders": "role",
    "measure_unit_cost_yuan": "measure",
    "measure_provider": "measure",
    "cause_measures": "cause",
    "plan_item_cost_yuan": "plan_cost",
    "sponsor_budget_yuan": "agency_level",
    "cause_thresholds": "cause_threshold",
    "procedure_stages": "procedure",
    "monitoring_procedure_stages": "procedure",
    "crosscheck_exclusions": "crosscheck",
}
# the label kind of a mapping's values
VALUE_KINDS = {"measure_provider": "provider", "cause_measures": "measure"}


def named(kind: str, code: object) -> str:
    """'配偶 spouse': the label, then the code (just the code where there is no label)."""
    from zhucun.labels import label, lang

    text = role(code) if kind == "role" else label(kind, code)
    if text == str(code) or (lang() == "en" and text == str(code).replace("_", " ")):
        return str(code)
    return f"{text} {code}"


def role(code: object) -> str:
    """A role of a review stage: a team member's, an official's or the helper's."""
    from zhucun.labels import label, table

    for kind in ("member_role", "official_role", "role"):
        if (kind, str(code)) in table():
            return label(kind, code)
    return str(code)


def _sep() -> str:
    from zhucun.labels import tr

    return tr("、", ", ")


def scalar(key: str, value: Any) -> str:
    from zhucun.labels import tr, yuan

    if value is None:
        return tr("（未设定）", "(not set)")
    if isinstance(value, bool):
        return tr("是", "yes") if value else tr("否", "no")
    if isinstance(value, int | float) and key.endswith("_yuan"):
        return yuan(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stage_line(rule: dict[str, Any]) -> str:
    """One review or procedure stage: its name, how it moves on, who decides."""
    from zhucun.labels import label, lang, tr

    name = rule.get("zh") if lang() == "zh" and rule.get("zh") else ""
    stage = f"{name} {rule['stage']}" if name else named("review_stage", rule["stage"])
    kind = rule.get("kind", "decide")
    parts = (
        [] if kind == "decide" or label("stage_kind", kind) in name else [named("stage_kind", kind)]
    )
    if rule.get("roles"):
        parts.append(_sep().join(role(r) for r in rule["roles"]))
    if rule.get("days"):
        parts.append(tr(f"{rule['days']} 天", f"{rule['days']} days"))
    if rule.get("quorum"):
        parts.append(tr(f"到会 ≥ {rule['quorum']:.0%}", f"quorum {rule['quorum']:.0%}"))
    if not parts:
        return stage
    return f"{stage}：{'；'.join(parts)}" if lang() == "zh" else f"{stage}: {'; '.join(parts)}"


def value_text(key: str, value: Any) -> str:
    """A policy value as a person reads it; several lines for a mapping or a stage list."""
    from zhucun.labels import label, lang

    colon = "：" if lang() == "zh" else ": "
    kind = CODE_KINDS.get(key)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "\n".join(stage_line(r) for r in value)
    if key == "working_age" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]}–{value[1]}"
    if isinstance(value, list | tuple):
        return _sep().join(named(kind, v) if kind else str(v) for v in value)
    if not isinstance(value, dict):
        return named(kind, value) if kind else scalar(key, value)
    lines = []
    for code, item in value.items():
        head = named(kind, code) if kind and kind != "crosscheck" else str(code)
        if isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(head + colon)
            lines += ["  " + stage_line(r) for r in item]
        elif isinstance(item, dict):  # a cross-check exclusion: its own words, its effect
            words = item.get("zh") if lang() == "zh" else ""
            effect = label("effect", item["effect"]) if "effect" in item else ""
            lines.append(f"{head} {words}".strip() + (f"（{effect}）" if effect else ""))
        elif isinstance(item, list):
            vk = VALUE_KINDS.get(key)
            lines.append(head + colon + _sep().join(named(vk, v) if vk else str(v) for v in item))
        elif key in VALUE_KINDS:
            lines.append(head + colon + named(VALUE_KINDS[key], item))
        else:
            lines.append(head + colon + scalar(key, item))
    return "\n".join(lines)


def policy_rows(data: dict[str, Any]) -> list[list[Text]]:
    """[label over its code, value] per key, in the policy's order."""
    from zhucun.cli.output import clean
    from zhucun.labels import label

    rows = []
    for key, value in data.items():
        title = Text(clean(label("policy_key", key)))
        if title.plain != key:
            title.append("\n" + clean(key), style="dim")
        rows.append([title, Text(clean(value_text(key, value)))])
    return rows


def policy_title(data: dict[str, Any]) -> str:
    from zhucun.labels import tr

    where = named("region", data.get("region", ""))
    if data.get("province_code"):
        where += tr(f"，省份 {data['province_code']}", f", province {data['province_code']}")
    return tr(
        f"{data.get('year')} 年度政策（{where}；版本 {data.get('version')}）",
        f"Policy {data.get('year')} ({where}; version {data.get('version')})",
    )
