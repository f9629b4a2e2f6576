"""The registry's code lists (codelists.toml) as parsers and labels.

Kept as data so a province's extra spelling is a line in a file, not a code change; both
layouts (zhucun's own and the national one) read them through here."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from zhucun.exchange.parsers import CellError, Parser


@cache
def code_lists() -> dict[str, dict[str, list[str]]]:
    text = resources.files("zhucun.exchange").joinpath("codelists.toml").read_text("utf-8")
    return tomllib.loads(text)


def codes(name: str) -> list[str]:
    return list(code_lists()[name])


def label_zh(name: str, code: str) -> str:
    """The registry's own term for `code` (the first spelling), or the code itself."""
    spellings = code_lists()[name].get(code)
    return spellings[0] if spellings else code


def code_list_parser(name: str) -> Parser:
    """A cell of list `name`: its code or any of its spellings → the code."""
    table: dict[str, str] = {}
    for code, spellings in code_lists()[name].items():
        table[code] = code
        for spelling in spellings:
            table.setdefault(spelling, code)
    shown = "、".join(spellings[0] for spellings in code_lists()[name].values())
    rule = f"must be one of {shown} (or its code)"
    if len(rule) > 200:  # 民族: 57 names; the message stays one readable line
        rule = f"must be a value of the {name} code list (see docs/data-format.md)"

    def parse(value: str) -> str:
        try:
            return table[value]
        except KeyError:
            raise CellError(rule) from None

    return parse
