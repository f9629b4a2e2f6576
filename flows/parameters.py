"""Typed flow parameters that render as forms in the Prefect UI and survive the Prefect CLI.

`prefect deployment run ... -p county=522626` parses the value as JSON, so a code arrives as
an *int*; a plain `str` parameter would refuse it. These types take an int or a str, keep
codes as strings (leading zeros matter in GB/T 2260 codes), and check their shape, so the
UI form shows a text field with a pattern and a description.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _as_code(v: Any) -> Any:
    """An int code from the CLI becomes its string; anything else is left to the pattern."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v.strip() if isinstance(v, str) else v


CountyCode = Annotated[
    str,
    Field(pattern=r"^\d{6}$", description="County code, 6 digits (GB/T 2260), e.g. 522626"),
    BeforeValidator(_as_code),
]
VillageCode = Annotated[
    str,
    Field(pattern=r"^\d{12}$", description="Village code, 12 digits, e.g. 522626101001"),
    BeforeValidator(_as_code),
]
Period = Annotated[
    str,
    Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Evaluation period, YYYY-MM"),
]
CycleYear = Annotated[
    int, Field(ge=2014, le=2100, description="Cycle year (the registry started in 2014)")
]
