"""The column tables of docs/data-format.md, rendered from the specs so the page users read
is the contract the importer enforces (a test compares the two)."""

from __future__ import annotations

from zhucun.exchange.codelists import code_lists
from zhucun.exchange.specs import INPUT_FILES, Col

START, END = "<!-- columns:start -->", "<!-- columns:end -->"

# Columns whose values come from a code list of codelists.toml.
_LISTS = {
    "relation": "relation",
    "ethnicity": "ethnicity",
    "education": "education",
    "school_status": "school_status",
    "health": "health",
    "labour_skill": "labour_skill",
    "attribute": "attribute",
    "identification_standard": "identification_standard",
    "road_type": "road_type",
    "fuel": "fuel",
}


def _need(col: Col) -> str:
    if col.column_optional:
        return "optional"
    if col.cell_optional:
        return "column required, cell may be empty"
    return "required"


def _values(col: Col) -> str:
    name = _LISTS.get(col.name)
    if name is None:
        return ""
    items = code_lists()[name]
    if len(items) > 12:
        return f"code list `{name}` ({len(items)} values, e.g. {next(iter(items.values()))[0]})"
    return ", ".join(f"`{code}` {spellings[0]}" for code, spellings in items.items())


def render() -> str:
    out = [START]
    for spec in INPUT_FILES:
        out += ["", f"#### {spec.name}", ""]
        out += ["| column | 中文表头 | | values |", "|---|---|---|---|"]
        for col in spec.columns:
            out.append(f"| {col.name} | {col.zh or ''} | {_need(col)} | {_values(col)} |")
    out += ["", END]
    return "\n".join(out)


def update(text: str) -> str:
    """`text` with its generated part replaced by the current one."""
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + render() + tail


if __name__ == "__main__":
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "data-format.md"
    path.write_text(update(path.read_text("utf-8")), "utf-8")
