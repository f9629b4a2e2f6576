"""Pass-1 checks of members.csv, and of households against their members.

Kept beside `validate.Validator` (which mixes this in) so that file stays about the
original contract. While members stream past, one `MemberTally` per household is kept
(≈200 bytes): enough to derive the household's counts in pass 2 and to compare them with
what households.csv declared."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zhucun.exchange.reader import Issues, Layout
from zhucun.exchange.specs import HOUSEHOLDS, MEMBERS, THIS_YEAR
from zhucun.models import Household
from zhucun.rules.members import COUNT_COLUMNS, MemberTally, count_mismatches

if TYPE_CHECKING:
    from zhucun.exchange.validate import Deferred, FolderState, KeyIndex, RegistryDB

# The columns a household must give itself when it has no members to derive them from.
_SELF_COUNTS = COUNT_COLUMNS


class MemberChecks:
    """Mixed into Validator: `_member` is called per members.csv row."""

    db: RegistryDB
    issues: Issues
    state: FolderState
    households: KeyIndex
    member_ids: KeyIndex
    broken: set[str]
    batch_size: int
    with_members: bool
    missing_reported: bool = False
    # household → (line, first empty count column or None, *the row's counts): flat, as
    # a million of them are held until members.csv has been read
    declared: dict[str, tuple[Any, ...]]
    _member_refs: Deferred | None

    def _note_household(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        """Remember what the household row declared, to compare with its members. Without
        members.csv the counts are required as in the original contract."""
        hid = v.get("household_id")
        if hid is None:
            return
        counts = tuple(v.get(c) for c in _SELF_COUNTS)
        # a cell that broke its rule is absent from `v` (already reported); empty is None
        empty = [c for c in _SELF_COUNTS if c in v and v[c] is None]
        if self.with_members:
            self.declared[hid] = (line, empty[0] if empty else None, *counts)
            return
        missing = [c for c in empty if c in layout.absent]
        if missing:
            if not self.missing_reported:
                self.missing_reported = True
                for column in missing:
                    self.issues.error(
                        HOUSEHOLDS.name,
                        1,
                        column,
                        "missing required column (or give the members in members.csv)",
                    )
        elif empty:
            self.issues.error(
                HOUSEHOLDS.name,
                line,
                layout.label(empty[0]),
                "must not be empty (or list the household's members in members.csv)",
            )

    def _member(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        hid = v.get("household_id")
        if hid is None:
            return
        if hid not in self.households and HOUSEHOLDS.name not in self.broken:
            assert self._member_refs is not None  # set by _begin
            self._member_refs.add(hid, line, layout.label("household_id"))
        tallies = self.state.members
        t = tallies.get(hid)
        if t is None:
            t = tallies[hid] = MemberTally(first_line=line)
        t.add(v, THIS_YEAR)
        if v.get("relation") == "head" and t.heads > 1:
            self.issues.error(
                MEMBERS.name, line, layout.label("relation"), "a household has one head (户主)"
            )
        grade, cert, health = v.get("disability_grade"), v.get("disability_cert"), v.get("health")
        if (grade is not None or cert is not None) and health not in (None, "disabled"):
            self.issues.warn(
                MEMBERS.name,
                line,
                layout.label("health"),
                "a disability grade or certificate is given: 健康状况 should be 残疾",
            )
        id_number = v.get("id_number")
        if id_number is not None:
            self.member_ids.add(id_number)
        if cert is not None and id_number is not None and not cert.startswith(id_number):
            self.issues.warn(
                MEMBERS.name,
                line,
                layout.label("disability_cert"),
                "does not start with the member's ID number",
            )

    def _end_members(self) -> None:
        """After members.csv: every household has one head, and its row's counts agree with
        its members (a warning: the members are taken)."""
        if self._member_refs is not None:
            self._member_refs.flush()
        for hid, t in self.state.members.items():
            if t.heads == 0:
                self.issues.error(
                    MEMBERS.name,
                    t.first_line,
                    "relation",
                    "the household has no head (与户主关系 = 户主)",
                )
            declared = self.declared.get(hid)
            if declared is None:
                continue
            line, _, *counts = declared
            for column, given, derived in count_mismatches(
                dict(zip(_SELF_COUNTS, counts, strict=True)), t
            ):
                self.issues.warn(
                    HOUSEHOLDS.name,
                    line,
                    column,
                    f"{given} but its members in members.csv give {derived}: members taken",
                )
        for hid, (line, empty, *_) in self.declared.items():
            if empty is not None and hid not in self.state.members:
                self.issues.error(
                    HOUSEHOLDS.name,
                    line,
                    empty,
                    "must not be empty (or list the household's members in members.csv)",
                )
        self.declared = {}

    def _member_ref_check(self) -> Deferred:
        from zhucun.exchange.validate import Deferred

        return Deferred(
            lambda keys: self.db.existing([Household.__table__.c.household_id], keys),
            lambda line, label: self.issues.error(
                MEMBERS.name,
                line,
                label,
                "unknown household (not in households.csv nor in the database)",
            ),
            self.batch_size,
        )
