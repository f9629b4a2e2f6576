"""A realistic county in the input format (DATA_FORMAT.md), deterministic for a seed.

Modules: `distributions` (every drawn number with its source), `geography` (county,
townships, villages from the reference data), `households` (cause-first indicators and
survey trajectories), `members` (the people of each household, drawn to fit its counts
and guarantees), `card` (the household card: identification, income parts, housing),
`officials` (village/township/county officials, relations), `cadres` (sponsor agencies and
cadres), `writers` (CSV in an encoding or xlsx; zhucun's layout or the national export),
`core` (the streaming driver)."""

from zhucun.generator.core import FILES, Summary, generate
from zhucun.generator.geography import UnknownCountyError, load_county

__all__ = ["FILES", "Summary", "UnknownCountyError", "generate", "load_county"]
