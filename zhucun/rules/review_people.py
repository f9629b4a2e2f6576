"""Who is who around one village, for the review's conflict rules (`rules.review`): the
person an ID number names however it was typed (`person_key`), its stored spellings, the
declared near relations by pair and by person, and `VillageContext`, the people of one
village loaded once for a batch of decisions. People, not role IDs: a cadre ID and an
official's person ID may be one human, so every comparison goes through `person_key`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from zhucun.idnumber import IdNumberError, normalise_id_number

# An 18-character number as the registry stores it: normalised, it is itself (valid), and
# kept as typed it is itself too (invalid check digit), so the key is the string.
_PLAIN_ID = re.compile(r"[0-9]{17}[0-9X]")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")


def spellings(id_number: str) -> list[str]:
    """How one ID number may have been stored (as given, full-width, lower-case x): for
    finding rows by it when an import did not normalise."""
    ascii_ = person_key(id_number) or id_number
    wide = ascii_.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    return sorted({id_number, ascii_, ascii_.replace("X", "x"), wide})


@lru_cache(maxsize=1 << 16)
def person_key(id_number: str | None) -> str | None:
    """The person an ID number names, however it was typed (full-width digits, lower-case
    x, a legacy 15-digit number); an unparseable one is kept as typed, trimmed and
    upper-cased, so it still equals itself. Cached: conflict checks ask for the same
    people millions of times in a county's review (the profile of the demo: 3 M calls)."""
    if not id_number or not id_number.strip():
        return None
    if _PLAIN_ID.fullmatch(id_number):  # as stored: already what the branches below return
        return id_number
    try:
        return normalise_id_number(id_number)[0]
    except IdNumberError:
        return id_number.strip().translate(_FULL_WIDTH).upper()


def pair(a: str, b: str) -> frozenset[str]:
    return frozenset((person_key(a) or a, person_key(b) or b))


def kin_index(relations: Mapping[frozenset[str], str]) -> dict[str, dict[str, str]]:
    """`VillageContext.relations` by person: {person: {relative: relation}} (both ways)."""
    out: dict[str, dict[str, str]] = {}
    for p, rel in relations.items():
        if len(p) == 2:
            a, b = sorted(p)
            out.setdefault(a, {})[b] = rel
            out.setdefault(b, {})[a] = rel
    return out


@dataclass(frozen=True)
class VillageContext:
    """The people around one village, loaded once per village for a batch of decisions.

    `roles` maps a reviewer ID (cadre_id of an active team member, person_id of an official
    of the village, its township or its county) to the roles they hold *for this village*.
    `id_numbers` maps those reviewer IDs to their ID numbers (never shown anywhere);
    `relations` maps declared pairs of ID numbers to the relation (symmetric, already
    filtered to the policy's near relations); `officials` maps the village officials'
    person IDs to their ID numbers."""

    village_code: str
    roles: Mapping[str, frozenset[str]]
    id_numbers: Mapping[str, str]
    relations: Mapping[frozenset[str], str]
    officials: Mapping[str, str]
    names: Mapping[str, str] = field(default_factory=dict)
    # person → {relative: relation}: `relations` by person, built once for a chunk's
    # contexts (`kin_index`); None: built here from `relations`
    kin: Mapping[str, Mapping[str, str]] | None = None

    def relation(self, a: str | None, b: str | None) -> str | None:
        a, b = person_key(a), person_key(b)
        if not a or not b:
            return None
        if a == b:
            return "self"
        return self.relations.get(pair(a, b))

    @cached_property
    def official_kin(self) -> dict[str, tuple[str, str]]:
        """Person → (the first official, in person-ID order, they are or are related to;
        the relation): what `official_relation` answers, built once per village, so the
        standing 优亲厚友 check of a county's 250,000 strategies is a lookup each, not a
        comparison with every official of the village."""
        kin = self.kin if self.kin is not None else kin_index(self.relations)
        out: dict[str, tuple[str, str]] = {}
        for pid, id_no in sorted(self.officials.items()):
            key = person_key(id_no)
            if not key:
                continue
            out.setdefault(key, (pid, "self"))
            for other, rel in sorted(kin.get(key, {}).items()):
                out.setdefault(other, (pid, rel))
        return out

    def official_relation(self, head_id_number: str | None) -> tuple[str, str] | None:
        """(official's person ID, relation) of the first village official, in person-ID
        order, whose `relation` to this person is set — as looping over the officials
        would answer (`tests/test_rules_review.py` checks both)."""
        key = person_key(head_id_number)
        return self.official_kin.get(key) if key else None

    def person(self, reviewer_id: str) -> str | None:
        """The person (normalised ID number) behind a cadre ID or an official's person ID."""
        return person_key(self.id_numbers.get(reviewer_id.strip()))
