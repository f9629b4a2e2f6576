"""A realistic county in the input format (DATA_FORMAT.md), deterministic for a seed.

Modules: `distributions` (every drawn number with its source), `geography` (county,
townships, villages from the reference data), `households` (cause-first indicators and
survey trajectories), `officials` (village/township/county officials, relations),
`cadres` (sponsor agencies and cadres), `core` (the streaming writer)."""

from zhucun.generator.core import FILES, Summary, generate
from zhucun.generator.geography import UnknownCountyError, load_county

__all__ = ["FILES", "Summary", "UnknownCountyError", "generate", "load_county"]
