"""`zhucun import --layout national DIR`: the national system's person-level export (one row
per 家庭成员, its own headers and spellings) read as zhucun's households.csv + members.csv.

The export is translated, streaming, into a private staging folder in zhucun's own layout,
beside the folder's other files (villages, cadres… in zhucun's layout), and imported from
there by the one importer, so every rule is checked once, the same way. Messages are
mapped back: a refusal names the national file, its row and its national header. The
header map and the defaults for what the export lacks are data (national_layout.toml)."""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import tomllib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select

from zhucun.exchange.codelists import code_list_parser
from zhucun.exchange.parsers import CellError
from zhucun.exchange.sources import SourceError, is_workbook, open_table
from zhucun.exchange.specs import HOUSEHOLDS, MEMBERS, VILLAGES
from zhucun.models import County, Township, Village

HOUSEHOLD_TYPE = "household_type"


@cache
def national_layout() -> dict[str, Any]:
    text = resources.files("zhucun.exchange").joinpath("national_layout.toml").read_text("utf-8")
    return tomllib.loads(text)


def header_map() -> dict[str, tuple[str, str]]:
    """National header (any spelling) → (member | household | place, column)."""
    out: dict[str, tuple[str, str]] = {}
    layout = national_layout()
    for part in ("member", "household", "place"):
        for column, spellings in layout[part].items():
            for spelling in spellings:
                out.setdefault(spelling, (part, column))
    return out


def is_national_header(header: list[str]) -> bool:
    """A person-level export: it names the household and the person (户编号 and 人编号)."""
    mapped = {header_map().get(h) for h in header}
    return ("member", "member_id") in mapped and ("member", "household_id") in mapped


@dataclass
class LineMap:
    """Staging line → the national source's line, per staged file (arrays: 8 bytes a row)."""

    label: str
    members: array = field(default_factory=lambda: array("q", [0, 1]))
    households: array = field(default_factory=lambda: array("q", [0, 1]))


@dataclass
class Staged:
    folder: Path
    labels: dict[str, str]  # staged file → the national source's label
    columns: dict[str, dict[str, str]]  # staged file → column → national header
    lines: dict[str, array]
    notes: list[str]
    errors: list[str]


def _year(value: str) -> str:
    """首次识别时间 comes as 2014, 2014年, 2014-05-01 or 2014/5/1: the year."""
    m = re.match(r"\s*(\d{4})", value)
    return m.group(1) if m else value


def _exited_attribute(value: str) -> str:
    """一般贫困户 in a 脱贫户 row → general_exited; a value the code list does not know is
    left for the importer to refuse with its row and column."""
    try:
        code = code_list_parser("attribute")(value)
    except CellError:
        return value
    return code if code.endswith("_exited") else f"{code}_exited"


def _village_index(folder: Path, url: str) -> dict[tuple[str, str, str], str]:
    """(county, township, village name) → village code, from the folder's villages file
    and the database (names are public, not personal data)."""
    index: dict[tuple[str, str, str], str] = {}
    for path in sorted(folder.iterdir()):
        if path.stem.lower() != "villages" or path.suffix.lower() not in (".csv", ".xlsx"):
            continue
        try:
            with open_table(path) as f:
                header = f.read_header() or []
                by = VILLAGES.by_header()
                pos = {by[h].name: i for i, h in enumerate(header) if h in by}
                need = ("county_name", "township_name", "name", "village_code")
                if all(k in pos for k in need):
                    for _, cells in f.rows():
                        if len(cells) == len(header):
                            key = tuple(cells[pos[k]].strip() for k in need[:3])
                            index[key] = cells[pos["village_code"]].strip()  # type: ignore[index]
        except SourceError:
            pass  # the importer reports the unreadable file itself
    from zhucun.db import engine_for
    from zhucun.exchange.validate import open_registry

    db = open_registry(url, engine_for)
    if db.engine is not None:
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(County.name, Township.name, Village.name, Village.village_code)
                .join(Township, Township.township_code == Village.township_code)
                .join(County, County.county_code == Village.county_code)
            )
            for county, township, village, code in rows:
                index.setdefault((county, township, village), code)
    return index


def _person_files(folder: Path) -> Iterator[tuple[Path, str | None]]:
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        if path.suffix.lower() == ".csv" or is_workbook(path):
            sheets: list[str | None] = [None]
            if is_workbook(path):
                from zhucun.exchange.xlsx_reader import Workbook

                book = Workbook(str(path))
                sheets = list(book.sheets)
                book.close()
            for sheet in sheets:
                try:
                    with open_table(path, sheet) as f:
                        header = f.read_header()
                except SourceError:
                    continue
                if header and is_national_header(header):
                    yield path, sheet


def stage(folder: Path, url: str) -> Staged:
    """Translate every person-level national file of `folder` into a staging folder with
    zhucun's households.csv and members.csv, the folder's other files beside them."""
    layout = national_layout()
    hmap = header_map()
    ignored = set(layout["ignored"]["columns"])
    registered = set(layout[HOUSEHOLD_TYPE]["registered"])
    not_registered = set(layout[HOUSEHOLD_TYPE]["not_registered"])
    exited = set(layout[HOUSEHOLD_TYPE]["exited"])
    defaults: dict[str, str] = layout["defaults"]
    out = Path(tempfile.mkdtemp(prefix="zhucun-national-"))
    staged = Staged(out, {}, {"households.csv": {}, "members.csv": {}}, {}, [], [])
    persons = list(_person_files(folder))
    if not persons:
        staged.errors.append(
            f"{folder}: no file in the national layout (a header with 户编号 and 人编号)"
        )
        return staged
    if len(persons) > 1:
        names = ", ".join(p.name + (f"[{s}]" if s else "") for p, s in persons)
        staged.errors.append(f"{folder}: one person-level file expected, found {names}")
        return staged
    path, sheet = persons[0]
    villages = _village_index(folder, url)
    for other in sorted(folder.iterdir()):
        if other != path:
            (out / other.name).symlink_to(other.resolve())

    m_cols = [c.name for c in MEMBERS.columns]
    h_cols = [c.name for c in HOUSEHOLDS.columns]
    with (
        open_table(path, sheet) as f,
        open(out / "members.csv", "w", encoding="utf-8", newline="") as mf,
        open(out / "households.csv", "w", encoding="utf-8", newline="") as hf,
    ):
        label = f.label
        header = f.read_header() or []
        where: dict[str, tuple[str, int]] = {}  # (part, column) as "part.column" → index
        unknown: list[str] = []
        for i, h in enumerate(header):
            target = hmap.get(h)
            if target is not None:
                where.setdefault(f"{target[0]}.{target[1]}", i)
                staged.columns["members.csv" if target[0] == "member" else "households.csv"][
                    target[1]
                ] = h
            elif h in ignored:
                staged.notes.append(f"{label}: column {h} is not used by zhucun")
            else:
                unknown.append(h)
        for h in unknown:
            staged.notes.append(f"{label}: unknown column {h!r} ignored")
        staged.columns["households.csv"]["village_code"] = "行政村"
        if "place.village_code" not in where and not all(
            f"place.{c}" in where for c in ("county_name", "township_name", "village_name")
        ):
            staged.errors.append(
                f"{label}:1:行政村: the village is needed: 县(市、区、旗), 乡(镇) and 行政村, "
                "or 行政村代码"
            )
            return staged
        filled = [c for c in defaults if f"household.{c}" not in where]
        if filled:
            staged.notes.append(
                f"{label}: not in the national export, taken as "
                + ", ".join(f"{c}={defaults[c]}" for c in filled)
            )
        if "member.medical_insurance" not in where and "member.serious_illness_insurance" in where:
            staged.notes.append(
                f"{label}: 基本医疗保险 taken from 是否参加大病保险 (大病保险 covers every "
                "enrollee of 城乡居民基本医疗保险)"
            )
        mw, hw = csv.writer(mf), csv.writer(hf)
        mw.writerow(m_cols)
        hw.writerow(h_cols)
        lines = LineMap(label)

        def cell(cells: list[str], key: str) -> str:
            """A cell on one staged line (a line break inside a cell would shift the
            line map)."""
            i = where.get(key)
            if i is None or i >= len(cells):
                return ""
            return " ".join(cells[i].split()) if "\n" in cells[i] else cells[i].strip()

        for line, cells in f.rows():
            member = {c: cell(cells, f"member.{c}") for c in m_cols}
            if not member["medical_insurance"]:
                member["medical_insurance"] = member["serious_illness_insurance"]
            if not member["gender"] and len(member["id_number"]) == 18:
                digit = member["id_number"][16]
                member["gender"] = ("M" if int(digit) % 2 else "F") if digit.isdigit() else ""
            mw.writerow([member[c] for c in m_cols])
            lines.members.append(line)
            relation = member["relation"]
            if relation not in ("户主", "head", "本人"):
                continue
            h = {c: cell(cells, f"household.{c}") for c in h_cols}
            for c, value in defaults.items():
                if not h.get(c) and f"household.{c}" not in where:
                    h[c] = value
            h["household_id"] = member["household_id"]
            h["head_name"] = member["name"]
            h["head_id_number"] = member["id_number"]
            code = cell(cells, "place.village_code")
            if not code:
                key = tuple(
                    cell(cells, f"place.{c}")
                    for c in ("county_name", "township_name", "village_name")
                )
                code = villages.get(key, "")  # type: ignore[arg-type]
                if not code and len(staged.errors) < 1000:
                    staged.errors.append(
                        f"{label}:{line}:行政村: unknown village {key[2]} of {key[1]}, "
                        f"{key[0]} (not in villages.csv nor in the database)"
                    )
            h["village_code"] = code
            kind = cell(cells, f"household.{HOUSEHOLD_TYPE}")
            if kind in exited:
                h["attribute"] = _exited_attribute(h["attribute"])
            if kind in registered:
                h["registered_poor"] = "true"
            elif kind in not_registered:
                h["registered_poor"] = "false"
            if h.get("identification_year"):
                h["identification_year"] = _year(h["identification_year"])
            if h.get("exit_year"):
                h["exit_year"] = _year(h["exit_year"])
            dangerous = h.get("dangerous_house", "")
            h["housing_grade"] = "C" if dangerous in ("是", "true", "1") else "B"
            hw.writerow([h.get(c, "") for c in h_cols])
            lines.households.append(line)
    staged.labels = {"members.csv": label, "households.csv": label}
    staged.lines = {"members.csv": lines.members, "households.csv": lines.households}
    staged.columns["households.csv"]["housing_grade"] = staged.columns["households.csv"].get(
        "dangerous_house", "危房户"
    )
    for c in ("head_name", "head_id_number"):
        staged.columns["households.csv"][c] = {"head_name": "姓名", "head_id_number": "证件号码"}[c]
    staged.notes.append(
        f"{label}: read as the national layout: {len(lines.members) - 2} persons, "
        f"{len(lines.households) - 2} households"
    )
    return staged


_MESSAGE = re.compile(r"^(households\.csv|members\.csv):(\d+):([^:]*): (.*)$", re.S)


def relabel(message: str, staged: Staged) -> str:
    """A staged file's message as the national file's: its label, row and header."""
    m = _MESSAGE.match(message)
    if m is None or m.group(1) not in staged.lines:
        return message
    file, line, column, rule = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    lines = staged.lines[file]
    source_line = lines[line] if 0 <= line < len(lines) else line
    header = staged.columns[file].get(column, column)
    if file == "households.csv" and column == "village_code" and "unknown village" in rule:
        rule = "unknown village (no village of this name in villages.csv nor in the database)"
    return f"{staged.labels[file]}:{source_line}:{header}: {rule}"


def cleanup(staged: Staged) -> None:
    shutil.rmtree(staged.folder, ignore_errors=True)


def import_national(folder: Path, **kwargs: Any) -> Any:
    """Stage `folder`'s national export and import it with the one importer; messages
    name the national file. Nothing is written unless every row passes."""
    from zhucun.exchange.importer import ImportError_, ImportResult, import_folder
    from zhucun.settings import get_settings

    if not folder.is_dir():
        raise ImportError_(f"{folder} is not a folder")
    url = kwargs.get("url") or get_settings().effective_database_url
    staged = stage(folder, url)
    try:
        if staged.errors:
            return ImportResult(
                ok=False,
                errors=staged.errors,
                error_count=len(staged.errors),
                notes=staged.notes,
            )
        result = import_folder(staged.folder, **kwargs)
        result.errors = [relabel(e, staged) for e in result.errors]
        result.warnings = [relabel(w, staged) for w in result.warnings]
        result.notes = staged.notes + [
            n for n in result.notes if not n.startswith(("members.csv", "households.csv"))
        ]
        for table in result.tables:
            if table.file in staged.labels:
                table.file = staged.labels[table.file]
        return result
    finally:
        cleanup(staged)
