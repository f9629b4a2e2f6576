"""Where the generator's rows go: CSV in a chosen encoding or a streamed .xlsx per file, and
the households with their members either in zhucun's layout (households + members) or as
the national system's person-level export (家庭成员, its 32 headers and spellings).

A county office hands zhucun whatever its system gives it: GB18030 CSV from an old Excel, a
workbook, the national export. Generating each of these from the same county is how the
importer is shown to read them all the same."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from zhucun.exchange.codelists import label_zh
from zhucun.generator.members import MEMBER_HEADER, Member
from zhucun.models.enums import CAUSE_ZH, Cause

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
LAYOUTS = ("zhucun", "national")
NATIONAL_FILE = "家庭成员"
# The 32 headers of the national system's person-level export, in its order (as
# national_layout.toml lists them; tests/support/member_fixtures.py has the same list).
NATIONAL_HEADERS = (
    "序号", "数据日期", "县(市、区、旗)", "乡(镇)", "行政村", "自然村", "户编号", "人编号",
    "姓名", "证件号码", "人数", "与户主关系", "民族", "文化程度", "在校生状况", "健康状况",
    "劳动技能", "务工时间（月）", "是否参加大病保险", "致贫原因1", "危房户",
    "是否解决安全饮用水", "人均纯收入", "户联系电话", "人联系电话", "首次识别时间",
    "人员识别时间", "户类型", "易返贫致贫户(监测对象)类型", "风险是否消除", "风险识别时间",
    "风险消除时间",
)  # fmt: skip
# Columns whose values are identifiers, not quantities: text cells in a workbook, so Excel
# keeps leading zeros and all 18 digits of an ID number.
TEXT_COLUMNS = frozenset(
    {
        "village_code", "township_code", "county_code", "household_id", "head_id_number",
        "member_id", "id_number", "id_number_a", "id_number_b", "disability_cert", "phone",
        "bank_account", "cadre_id", "person_id", "area_code", "home_village_code",
        "home_county_code", "spouse_cadre_id", "serving_county_code", "户编号", "人编号",
        "证件号码", "户联系电话", "人联系电话",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Format:
    """How the files are written: `.xlsx` or CSV in `encoding`."""

    xlsx: bool = False
    encoding: str = "utf-8"
    layout: str = "zhucun"

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")

    def name(self, stem: str) -> str:
        return f"{stem}.xlsx" if self.xlsx else f"{stem}.csv"


class Table(Protocol):
    name: str
    rows: int

    def write(self, row: Sequence[Any]) -> None: ...

    def writerow(self, row: Sequence[Any]) -> None: ...

    def close(self) -> None: ...


class CsvTable:
    def __init__(self, path: Path, header: Sequence[str], encoding: str) -> None:
        self.name = path.name
        self.rows = 0
        # closed by close(): the file stays open while the county streams into it
        self._fh = open(path, "w", encoding=encoding, newline="")  # noqa: SIM115
        self._w = csv.writer(self._fh, lineterminator="\n")
        self._w.writerow(header)

    def write(self, row: Sequence[Any]) -> None:
        self._w.writerow(row)
        self.rows += 1

    writerow = write  # what the csv.writer-fed streams (cadres, relations) call

    def close(self) -> None:
        self._fh.close()


class XlsxTable:
    """One workbook, one sheet named after the file's stem, streamed (openpyxl write_only:
    rows go to a temporary file as they come, so a million members stay in flat memory)."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        from openpyxl import Workbook

        self.name = path.name
        self.rows = 0
        self._path = path
        self._book = Workbook(write_only=True)
        self._ws = self._book.create_sheet(path.stem[:31])
        self._ws.append(list(header))
        self._text = [h in TEXT_COLUMNS for h in header]

    def write(self, row: Sequence[Any]) -> None:
        self._ws.append(
            [
                None if v == "" or v is None else (str(v) if t else v)
                for v, t in zip(row, self._text, strict=True)
            ]
        )
        self.rows += 1

    writerow = write

    def close(self) -> None:
        tmp = self._path.with_name(f".{self._path.name}.tmp")
        self._book.save(tmp)
        os.replace(tmp, self._path)


def open_table(out: Path, stem: str, header: Sequence[str], fmt: Format) -> Table:
    path = out / fmt.name(stem)
    if fmt.xlsx:
        return XlsxTable(path, header)
    return CsvTable(path, header, fmt.encoding)


@dataclass
class Place:
    county: str
    township: str
    village: str


class HouseholdSink(Protocol):
    tables: list[Table]

    def household(self, place: Place, header: Sequence[str], row: Sequence[Any],
                  people: Sequence[Member]) -> None: ...  # fmt: skip


class ZhucunSink:
    """households + members, one row per household and one per person."""

    def __init__(self, out: Path, fmt: Format, household_header: Sequence[str]) -> None:
        self.h = open_table(out, "households", household_header, fmt)
        self.m = open_table(out, "members", MEMBER_HEADER, fmt)
        self.tables = [self.h, self.m]

    def household(
        self, place: Place, header: Sequence[str], row: Sequence[Any], people: Sequence[Member]
    ) -> None:
        self.h.write(row)
        hid = row[0]
        for i, m in enumerate(people, start=1):
            self.m.write(m.row(f"{hid}{i:02d}", hid))


def _yes(v: bool) -> str:
    return "是" if v else "否"


class NationalSink:
    """The person-level export: household fields repeated on every member's row, the
    village by name, the registry's own spellings (the first of each code list)."""

    def __init__(self, out: Path, fmt: Format, year: int) -> None:
        self.t = open_table(out, NATIONAL_FILE, NATIONAL_HEADERS, fmt)
        self.tables = [self.t]
        self.date = f"{year}-12-31"
        self.year = year

    def household(
        self, place: Place, header: Sequence[str], row: Sequence[Any], people: Sequence[Member]
    ) -> None:
        h = dict(zip(header, row, strict=True))
        hid = str(h["household_id"])
        poor = h["registered_poor"] == "true"
        if poor:
            kind = "脱贫户" if str(h["attribute"]).endswith("_exited") else "贫困户"
        else:
            kind = "一般农户"
        cause = h["registered_main_cause"]
        ident = f"{h['identification_year']}-10-31" if h["identification_year"] else ""
        common = {
            "数据日期": self.date,
            "县(市、区、旗)": place.county,
            "乡(镇)": place.township,
            "行政村": place.village,
            "自然村": "",
            "户编号": hid,
            "人数": h["size"],
            "致贫原因1": CAUSE_ZH[Cause(cause)] if cause else "",
            "危房户": _yes(h["dangerous_house"] == "true"),
            "是否解决安全饮用水": _yes(h["safe_water_ok"] == "true"),
            "人均纯收入": h["per_capita_income_yuan"],
            "户联系电话": h["phone"],
            "首次识别时间": ident,
            "人员识别时间": ident,
            "户类型": kind,
            "易返贫致贫户(监测对象)类型": "" if poor else "边缘易致贫户",
            "风险是否消除": "" if poor else "否",
            "风险识别时间": "" if poor else f"{self.year}-03-31",
            "风险消除时间": "",
        }
        for i, m in enumerate(people, start=1):
            cells = common | {
                "序号": self.t.rows + 1,
                "人编号": f"{hid}{i:02d}",
                "姓名": m.name,
                "证件号码": m.id_number,
                "与户主关系": label_zh("relation", m.relation),
                "民族": label_zh("ethnicity", m.ethnicity),
                "文化程度": label_zh("education", m.education),
                "在校生状况": label_zh("school_status", m.school),
                "健康状况": label_zh("health", m.health),
                "劳动技能": label_zh("labour_skill", m.labour_skill),
                "务工时间（月）": m.migrant_months,
                "是否参加大病保险": _yes(m.insured),
                "人联系电话": m.phone,
            }
            self.t.write([cells[c] for c in NATIONAL_HEADERS])
