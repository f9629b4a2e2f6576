"""Pass 1 of the import: stream every file, check every row, touch nothing.

Only what later checks need is kept: the key sets of the folder (household IDs, ID numbers
as integers, village codes, ...) and the county/township names from villages.csv. The
database is read, never written: a household may name a village imported last year, a
survey a household already in the database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhucun.exchange.parsers import CellError
from zhucun.exchange.reader import Issues, Layout, layout_for, parse_cells
from zhucun.exchange.sources import Located, SourceError, open_located
from zhucun.exchange.specs import (
    CODE_LENGTH_BY_LEVEL,
    ROLES_BY_LEVEL,
    THIS_YEAR,
    FileSpec,
)
from zhucun.exchange.spill import Spill
from zhucun.exchange.validate_lookups import (
    PROGRESS_EVERY,
    Deferred,
    KeyIndex,
    NoProgress,
    Progress,
    RegistryDB,
    open_registry,
)
from zhucun.exchange.validate_members import MemberChecks
from zhucun.models import Cadre, Household, Member, Official
from zhucun.rules.members import MemberTally

__all__ = [
    "PROGRESS_EVERY",
    "Deferred",
    "FolderState",
    "KeyIndex",
    "NoProgress",
    "Progress",
    "RegistryDB",
    "Validator",
    "open_registry",
]


@dataclass
class FolderState:
    """What pass 1 learnt and pass 2 needs: rows per file, the geography above villages and
    (when asked for) each file's parsed rows on disk."""

    rows: dict[str, int] = field(default_factory=dict)
    members: dict[str, MemberTally] = field(default_factory=dict)  # household → tally
    counties: dict[str, dict[str, Any]] = field(default_factory=dict)
    townships: dict[str, dict[str, Any]] = field(default_factory=dict)
    spills: dict[str, Spill] = field(default_factory=dict)

    def close_spills(self) -> None:
        for spill in self.spills.values():
            spill.close()
        self.spills = {}

    def __enter__(self) -> FolderState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_spills()


class Validator(MemberChecks):
    """Checks one folder. Files are read in dependency order, so a file's references to an
    earlier file are checked against that file's keys as it streams."""

    def __init__(
        self,
        db: RegistryDB,
        issues: Issues,
        *,
        ignore_unknown: bool,
        batch_size: int,
        progress: Progress | None = None,
        spill: bool = False,
    ) -> None:
        """`spill`: keep every file's parsed rows on disk for pass 2 (`FolderState.spills`)
        while no error has been found."""
        self.spill = spill
        self.db = db
        self.issues = issues
        self.ignore_unknown = ignore_unknown
        self.batch_size = batch_size
        self.progress = progress or NoProgress()
        self.state = FolderState()
        self.broken: set[str] = set()  # files whose header could not be read
        self.villages: dict[str, int] = {}  # code → line (a few hundred per county)
        self.households = KeyIndex()
        self.head_ids = KeyIndex()
        self.cadres = KeyIndex()
        self.cadre_ids = KeyIndex()
        self.officials = KeyIndex()
        self.official_ids = KeyIndex()
        self.survey_keys = KeyIndex()
        self.members = KeyIndex()
        self.member_ids = KeyIndex()
        self.with_members = False
        self.declared: dict[str, tuple[Any, ...]] = {}
        self._member_refs: Deferred | None = None
        # the unique columns of each file: (index, columns of the key, the column reported)
        self.unique: dict[str, list[tuple[KeyIndex, tuple[str, ...], str]]] = {
            "household": [
                (self.households, ("household_id",), "household_id"),
                (self.head_ids, ("head_id_number",), "head_id_number"),
            ],
            "cadre": [
                (self.cadres, ("cadre_id",), "cadre_id"),
                (self.cadre_ids, ("id_number",), "id_number"),
            ],
            "official": [(self.officials, ("person_id",), "person_id")],
            "survey": [(self.survey_keys, ("household_id", "survey_date"), "survey_date")],
            "member": [(self.members, ("member_id",), "member_id")],
        }
        self.spouses: list[tuple[str, int, str]] = []
        self.pairs: dict[tuple[str, str], int] = {}
        self._survey_refs: Deferred | None = None
        self._relation_refs: Deferred | None = None

    # -- driving -----------------------------------------------------------------------

    def run(
        self, folder: Path, specs: Iterable[FileSpec], sources: dict[str, Located] | None = None
    ) -> FolderState:
        """`sources`: where each spec's table is (a CSV file or a sheet); default X.csv."""
        specs = list(specs)
        self.with_members = any(spec.table == "member" for spec in specs)
        for spec in specs:
            where = (sources or {}).get(spec.name) or Located(spec.name, folder / spec.name)
            self.validate_file(where, spec)
        return self.state

    def validate_file(self, path: Located, spec: FileSpec) -> None:
        issues = self.issues
        check: Callable[[int, dict[str, Any], Layout], None] = getattr(self, f"_{spec.table}")
        rows = 0
        layout: Layout | None = None
        try:
            opened = open_located(path)
        except SourceError as exc:  # unreadable, not a workbook, no such sheet
            issues.error(spec.name, exc.line, "*", exc.rule)
            self.broken.add(spec.name)
            self.state.rows[spec.name] = 0
            return
        if opened.encoding_note:
            issues.notes.append(opened.encoding_note)
        self.progress.start(f"checking {opened.label}", opened.size)
        with opened as f:
            try:
                header = f.read_header()
                if header is None:
                    issues.error(spec.name, 1, "*", "empty file: no header row")
                    self.broken.add(spec.name)
                    return
                layout = layout_for(spec, header, issues, ignore_unknown=self.ignore_unknown)
                if layout is None:
                    self.broken.add(spec.name)
                    return
                self._begin(spec)
                spill = self._spill_for(spec)
                for line, cells in f.rows():
                    rows += 1
                    values, _ok = parse_cells(layout, line, cells, issues)
                    if values is not None:
                        check(line, values, layout)
                        if spill is not None:
                            if issues.error_count:  # nothing will be written: stop
                                spill = self._drop_spills()
                            else:
                                spill.add(values)
                    if rows % PROGRESS_EVERY == 0:
                        self.progress.update(f.bytes_read, rows)
            except SourceError as exc:  # a bad byte, unbalanced quotes, a huge field
                issues.error(spec.name, exc.line, "*", exc.rule)
                self.broken.add(spec.name)
            finally:
                self._end(spec, path, None if spec.name in self.broken else layout)
                self.state.rows[spec.name] = rows
                if spec.name in self.state.spills:
                    self.state.spills[spec.name].finish()
                self.progress.finish(rows)
        if issues.error_count:
            self._drop_spills()

    def _spill_for(self, spec: FileSpec) -> Spill | None:
        if not self.spill or self.issues.error_count:
            return None
        spill = self.state.spills[spec.name] = Spill()
        return spill

    def _drop_spills(self) -> None:
        self.state.close_spills()
        self.spill = False

    def _begin(self, spec: FileSpec) -> None:
        name = spec.name
        if spec.table == "member":
            self._member_refs = self._member_ref_check()
        if spec.table == "survey":
            self._survey_refs = Deferred(
                lambda keys: self.db.existing([Household.__table__.c.household_id], keys),
                lambda line, label: self.issues.error(
                    name,
                    line,
                    label,
                    "unknown household (not in households.csv nor in the database)",
                ),
                self.batch_size,
            )
        if spec.table == "relation":
            t_h, t_c, t_o = Household.__table__, Cadre.__table__, Official.__table__
            self._relation_refs = Deferred(
                lambda keys: self.db.existing(
                    [
                        t_h.c.head_id_number,
                        Member.__table__.c.id_number,
                        t_c.c.id_number,
                        t_o.c.id_number,
                    ],
                    keys,
                ),
                lambda line, label: self.issues.warn(
                    name, line, label, "unknown ID number: kept, the relative may live elsewhere"
                ),
                self.batch_size,
            )

    def _end(self, spec: FileSpec, path: Located, layout: Layout | None) -> None:
        checks: list[tuple[set[int], tuple[str, ...], str]] = []
        for index, columns, reported in self.unique.get(spec.table, []):
            repeated = index.seal()
            if repeated and layout is not None:
                checks.append((repeated, columns, reported))
        if checks and layout is not None:
            self._confirm_duplicates(path, layout, checks)
        if spec.table == "official":
            self.official_ids.seal()  # looked up by relations.csv
        if spec.table == "member":
            self.member_ids.seal()
            self._end_members()
        for deferred in (self._survey_refs, self._relation_refs):
            if deferred is not None:
                deferred.flush()
        if spec.table == "cadre":
            for spouse, line, label in self.spouses:
                if spouse not in self.cadres and spouse not in self.db.cadres:
                    self.issues.error(
                        spec.name,
                        line,
                        label,
                        "unknown cadre (not in cadres.csv nor in the database)",
                    )
            self.spouses = []

    def _confirm_duplicates(
        self,
        path: Located,
        layout: Layout,
        checks: list[tuple[set[int], tuple[str, ...], str]],
    ) -> None:
        """Re-read the file for the few keys whose hash repeated: a real duplicate is
        reported with the line that had the key first; a hash collision is not."""
        by_key = {f.key: f for f in layout.fields}
        firsts: list[dict[object, int]] = [{} for _ in checks]
        with open_located(path) as f:
            f.read_header()
            for line, cells in f.rows():
                if len(cells) != layout.width:
                    continue
                for (repeated, columns, reported), first in zip(checks, firsts, strict=True):
                    try:
                        parts = []
                        for column in columns:
                            raw = cells[by_key[column].index].strip()
                            if not raw:
                                raise CellError(column)
                            parts.append(by_key[column].parse(raw))
                    except CellError:
                        continue
                    key = parts[0] if len(parts) == 1 else tuple(parts)
                    if hash(key) not in repeated:
                        continue
                    if key in first:
                        what = (
                            "duplicate"
                            if len(columns) == 1
                            else ("duplicate " + " and ".join(columns))
                        )
                        self._err(layout, line, reported, f"{what}: already on line {first[key]}")
                    else:
                        first[key] = line

    def _err(self, layout: Layout, line: int, key: str, rule: str) -> None:
        self.issues.error(layout.spec.name, line, layout.label(key), rule)

    # -- one method per file (named after the table) ---------------------------------------

    def _village(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        code, tcode, ccode = v.get("village_code"), v.get("township_code"), v.get("county_code")
        if code is not None:
            if code in self.villages:
                self._err(
                    layout,
                    line,
                    "village_code",
                    f"duplicate: already on line {self.villages[code]}",
                )
            else:
                self.villages[code] = line
            if tcode is not None and code[:9] != tcode:
                self._err(layout, line, "village_code", "first 9 digits must equal township_code")
        if tcode is None or ccode is None:
            return
        if tcode[:6] != ccode:
            self._err(layout, line, "township_code", "first 6 digits must equal county_code")
            return
        county = self.state.counties.get(ccode)
        if county is None:
            if all(k in v for k in ("county_name", "province", "region")):
                self.state.counties[ccode] = {
                    "county_code": ccode,
                    "name": v["county_name"],
                    "province": v["province"],
                    "region": v["region"],
                    "line": line,
                }
        else:
            for key, stored, what in (
                ("region", "region", "region"),
                ("county_name", "name", "name"),
                ("province", "province", "province"),
            ):
                if key in v and v[key] != county[stored]:
                    self._err(
                        layout,
                        line,
                        key,
                        f"county {ccode} already has {what} "
                        f"{county[stored]} (line {county['line']})",
                    )
        township = self.state.townships.get(tcode)
        if township is None:
            if "township_name" in v:
                self.state.townships[tcode] = {
                    "township_code": tcode,
                    "name": v["township_name"],
                    "county_code": ccode,
                    "line": line,
                }
        elif "township_name" in v and v["township_name"] != township["name"]:
            self._err(
                layout,
                line,
                "township_name",
                f"township {tcode} already has name {township['name']} (line {township['line']})",
            )

    def _household(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        hid = v.get("household_id")
        if hid is not None:
            self.households.add(hid)
        self._note_household(line, v, layout)
        head = v.get("head_id_number")
        if head is not None:
            self.head_ids.add(head)
        village = v.get("village_code")
        if (
            village is not None
            and village not in self.villages
            and "villages.csv" not in self.broken
            and village not in self.db.villages
        ):
            self._err(
                layout,
                line,
                "village_code",
                "unknown village (not in villages.csv nor in the database)",
            )
        size, labour = v.get("size"), v.get("labour_count")
        if size is not None:
            for key in (
                "labour_count",
                "chronic_illness_members",
                "serious_illness_members",
                "disabled_members",
                "students",
            ):
                value = v.get(key)
                if value is not None and value > size:
                    self._err(layout, line, key, "must be ≤ size")
        skilled = v.get("skilled_labour")
        if labour is not None and skilled is not None and skilled > labour:
            self._err(layout, line, "skilled_labour", "must be ≤ labour_count")

    def _cadre(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        cid = v.get("cadre_id")
        if cid is not None:
            if cid in self.db.officials:
                self._err(
                    layout,
                    line,
                    "cadre_id",
                    "already a person_id of an official in the "
                    "database (cadres and officials share reviewer IDs)",
                )
            self.cadres.add(cid)
        id_number = v.get("id_number")
        born: int | None = None
        if id_number is not None:
            self.cadre_ids.add(id_number)
            born = int(id_number[6:10])
        home_village, home_county = v.get("home_village_code"), v.get("home_county_code")
        if home_village is not None and home_county is not None and home_village[:6] != home_county:
            self._err(
                layout, line, "home_village_code", "first 6 digits must equal home_county_code"
            )
        if (
            v.get("party_member") is True
            and "party_join_year" in v
            and v["party_join_year"] is None
        ):
            self._err(layout, line, "party_join_year", "required when party_member is true")
        for key, age in (("party_join_year", 18), ("work_start_year", 16)):
            year = v.get(key)
            if year is None:
                continue
            if year > THIS_YEAR:
                self._err(layout, line, key, "must not be in the future")
            elif born is not None and year < born + age:
                self._err(layout, line, key, f"must be at least {age} years after the birth year")
        serving = v.get("serving_county_code")
        if (
            serving is not None
            and serving not in self.state.counties
            and "villages.csv" not in self.broken
            and serving not in self.db.counties
        ):
            self._err(
                layout,
                line,
                "serving_county_code",
                "unknown county (not in villages.csv nor in the database)",
            )
        spouse = v.get("spouse_cadre_id")
        if spouse is not None:
            if spouse == cid:
                self._err(layout, line, "spouse_cadre_id", "must not be the cadre's own cadre_id")
            else:
                self.spouses.append((spouse, line, layout.label("spouse_cadre_id")))

    def _official(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        pid = v.get("person_id")
        if pid is not None:
            if pid in self.cadres or pid in self.db.cadres:
                self._err(
                    layout,
                    line,
                    "person_id",
                    "already a cadre_id (cadres and officials share reviewer IDs)",
                )
            self.officials.add(pid)
        if v.get("id_number") is not None:
            self.official_ids.add(v["id_number"])
        level, area, role = v.get("level"), v.get("area_code"), v.get("role")
        if level is None:
            return
        if area is not None:
            n = CODE_LENGTH_BY_LEVEL[level]
            if len(area) != n or not area.isdigit() or not area.isascii():
                self._err(
                    layout,
                    line,
                    "area_code",
                    f"must be a {level} code of {n} digits for level {level}",
                )
            else:
                known, file, in_db = {
                    "village": (self.villages, "villages.csv", self.db.villages),
                    "township": (self.state.townships, "villages.csv", self.db.townships),
                    "county": (self.state.counties, "villages.csv", self.db.counties),
                }[level]
                if area not in known and file not in self.broken and area not in in_db:
                    self._err(
                        layout,
                        line,
                        "area_code",
                        f"unknown {level} (not in villages.csv nor in the database)",
                    )
        if role is not None and role not in ROLES_BY_LEVEL[level]:
            self._err(
                layout,
                line,
                "role",
                f"must be one of {', '.join(ROLES_BY_LEVEL[level])} for level {level}",
            )

    def _relation(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        a, b = v.get("id_number_a"), v.get("id_number_b")
        if a is not None and b is not None:
            if a == b:
                self._err(layout, line, "id_number_b", "must differ from id_number_a")
                return
            pair = (a, b) if a < b else (b, a)
            first = self.pairs.get(pair)
            if first is not None:
                self._err(
                    layout,
                    line,
                    "id_number_b",
                    f"duplicate pair: already on line {first} (relations are symmetric)",
                )
            else:
                self.pairs[pair] = line
        for key, value in (("id_number_a", a), ("id_number_b", b)):
            if value is None:
                continue
            if (
                value not in self.head_ids
                and value not in self.member_ids
                and value not in self.cadre_ids
                and value not in self.official_ids
            ):
                assert self._relation_refs is not None  # set by _begin
                self._relation_refs.add(value, line, layout.label(key))

    def _survey(self, line: int, v: dict[str, Any], layout: Layout) -> None:
        hid, when = v.get("household_id"), v.get("survey_date")
        if hid is None:
            return
        if hid not in self.households and "households.csv" not in self.broken:
            assert self._survey_refs is not None  # set by _begin
            self._survey_refs.add(hid, line, layout.label("household_id"))
        if when is not None:
            self.survey_keys.add((hid, when))
