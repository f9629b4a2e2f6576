"""One way to open a table file whatever its form: UTF-8, UTF-8 with BOM or GB18030 CSV
(what the national system and Chinese Excel write), or a sheet of an .xlsx workbook.

Every source has the interface the validator and the importer stream through (`read_header`,
`rows`, `bytes_read`/`size`, `close`) and a `label` used in every message: `households.csv`
or `registry.xlsx[贫困户]`. A problem reading the file (a bad byte late in it, a field
over the size limit, broken XML) is a `SourceError` with the row, never a traceback."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zhucun.exchange.reader import Issues, message
from zhucun.exchange.xlsx_reader import Workbook, XlsxError

if TYPE_CHECKING:
    from zhucun.exchange.specs import FileSpec

# The csv module's own limit is 131,072 characters; a free-text cell may be longer, but a
# field of megabytes is a broken quote, not data.
FIELD_LIMIT = 1_048_576
csv.field_size_limit(FIELD_LIMIT)
SNIFF_BYTES = 1 << 16
FIX = "save it as CSV UTF-8 (Excel: 另存为 → CSV UTF-8) or .xlsx"

# Chinese titles of the files, for sheet names of a workbook (input and output files).
SHEET_TITLES: dict[str, str] = {
    "villages": "行政村",
    "households": "贫困户",
    "members": "家庭成员",
    "cadres": "干部",
    "officials": "村乡县人员",
    "relations": "亲属关系",
    "surveys": "监测调查",
    "decisions": "审核决定",
    "teams": "工作队",
    "team_members": "工作队成员",
    "helpers": "帮扶责任人",
    "shortages": "缺员",
    "village_assessments": "村分析",
    "household_assessments": "致贫原因",
    "plan_items": "村发展规划",
    "strategies": "一户一策",
    "procedures": "识别与退出登记",
    "evaluations": "成效评估",
    "village_status": "村退出评估",
    "audit": "操作日志",
}


class SourceError(Exception):
    """A file that cannot be read on at `line`: reported as `label:line:*: rule`."""

    def __init__(self, line: int, rule: str) -> None:
        super().__init__(rule)
        self.line = line
        self.rule = rule


@dataclass(frozen=True)
class Located:
    """Where a table lives: a CSV file, or a sheet of a workbook. `name` is the contract's
    file name (households.csv) the rest of the import knows it by."""

    name: str
    path: Path
    sheet: str | None = None
    spec: FileSpec | None = None  # for the importer

    @property
    def label(self) -> str:
        return self.path.name if self.sheet is None else f"{self.path.name}[{self.sheet}]"


def detect_encoding(head: bytes) -> str:
    """utf-8-sig on a BOM; utf-8 when the first block decodes as UTF-8; else gb18030 (a
    superset of GBK and GB2312, what the national system and Chinese Excel write)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError(1, f"UTF-16 text (Excel's Unicode text): {FIX}")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    # Chinese text read as valid UTF-8 before the bad byte means mixed encodings, which
    # GB18030 would turn into plausible garbage: refuse, naming the line.
    before = head[:bad].decode("utf-8", errors="ignore")
    if sum(ord(ch) >= 0x800 for ch in before) < 2:
        try:
            codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
            return "gb18030"
        except UnicodeDecodeError:
            pass
    raise SourceError(
        head[:bad].count(b"\n") + 1,
        "not valid UTF-8 (at or after this line)",  # exact text pinned by an older test
    )


_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "gb18030": "GB18030"}


class CsvSource:
    """A CSV file in any of the three encodings, `csv.reader(strict=True)` semantics."""

    def __init__(self, path: Path, label: str | None = None) -> None:
        self.path = path
        self.label = label or path.name
        self.size = path.stat().st_size
        self._raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self.encoding = detect_encoding(self._raw.read(SNIFF_BYTES))
        except BaseException:
            self._raw.close()
            raise
        self._raw.seek(0)
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")
        self._reader = csv.reader(self._text, strict=True)
        self.header: list[str] | None = None

    @property
    def encoding_note(self) -> str | None:
        if self.encoding == "utf-8":
            return None
        return f"{self.label}: read as {_ENCODING_NAMES[self.encoding]}"

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def bytes_read(self) -> int:
        return self._raw.tell()

    @property
    def line_num(self) -> int:
        return self._reader.line_num

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        prev = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                what = _ENCODING_NAMES[self.encoding]
                raise SourceError(
                    reader.line_num + 1,
                    f"mixed or broken text, {FIX}: not valid {what} (at or after this line)",
                ) from exc
            except csv.Error as exc:
                if "field limit" in str(exc):
                    raise SourceError(
                        prev + 1, f"field longer than {FIELD_LIMIT} characters"
                    ) from exc
                raise SourceError(max(prev + 1, 1), f"malformed CSV ({exc})") from exc
            start = prev + 1
            prev = reader.line_num
            yield start, row

    def read_header(self) -> list[str] | None:
        self._iter = self._records()
        for _line, row in self._iter:
            if row and any(c.strip() for c in row):
                self.header = [c.strip() for c in row]
                return self.header
        return None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line where the record starts, cells); blank lines are skipped."""
        for start, row in self._iter:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield start, row


class XlsxSource:
    """One sheet of a workbook; rows are numbered as the sheet numbers them."""

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        self.path = path
        self.size = path.stat().st_size
        try:
            self.book = Workbook(str(path))
        except XlsxError as exc:
            raise SourceError(1, str(exc)) from exc
        names = list(self.book.sheets)
        if sheet is None:
            if not names:
                self.book.close()
                raise SourceError(1, "the workbook has no sheet")
            sheet = names[0]
        if sheet not in self.book.sheets:
            self.book.close()
            raise SourceError(1, f"no sheet {sheet!r} (sheets: {', '.join(names)})")
        self.sheet = sheet
        self.label = f"{path.name}[{sheet}]"
        self.encoding_note: str | None = None
        self.header: list[str] | None = None
        self._sheet_size = max(self.book.sheet_size(sheet), 1)
        self._counter, self._iter = self.book.rows(sheet)
        self._line = 0

    def close(self) -> None:
        self.book.close()

    def __enter__(self) -> XlsxSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def bytes_read(self) -> int:
        """The file's size scaled by the share of the sheet's XML parsed so far."""
        return int(self.size * min(self._counter.count / self._sheet_size, 1.0))

    @property
    def line_num(self) -> int:
        return self._line

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        try:
            for line, cells in self._iter:
                self._line = line
                yield line, cells
        except XlsxError as exc:
            raise SourceError(self._line + 1, str(exc)) from exc

    def read_header(self) -> list[str] | None:
        self._gen = self._records()
        for _line, row in self._gen:
            if any(c.strip() for c in row):
                self.header = [c.strip() for c in row]
                self._width = len(self.header)
                return self.header
        return None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Rows padded to the header's width (a sheet omits trailing empty cells)."""
        width = getattr(self, "_width", 0)
        for line, cells in self._gen:
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            yield line, cells


TableSource = CsvSource | XlsxSource


def is_workbook(path: Path) -> bool:
    return path.suffix.lower() in (".xlsx", ".xlsm")


def open_table(path: Path | str, sheet: str | None = None) -> TableSource:
    """Open a CSV file or a sheet of a workbook (the only/first one when `sheet` is None).
    Any failure to open is a `SourceError` on line 1."""
    path = Path(path)
    try:
        if is_workbook(path):
            return XlsxSource(path, sheet)
        return CsvSource(path)
    except OSError as exc:
        raise SourceError(1, f"cannot be read ({exc.strerror or exc})") from exc


def open_located(source: Located) -> TableSource:
    return open_table(source.path, source.sheet)


@dataclass
class LabelledIssues(Issues):
    """Issues whose messages name the source (`registry.xlsx[贫困户]:5:户编号: ...`) while the
    checks keep calling files by their contract name; counts stay by contract name."""

    labels: dict[str, str] = field(default_factory=dict)

    def error(self, file: str, line: int, column: str, rule: str) -> None:
        super().error(self.labels.get(file, file), line, column, rule)

    def warn(self, file: str, line: int, column: str, rule: str) -> None:
        self.warning_count += 1
        self.warnings_by_file[file] = self.warnings_by_file.get(file, 0) + 1
        if len(self.warnings) < self.keep:
            self.warnings.append(message(self.labels.get(file, file), line, column, rule))

    def fatal(self, message: str) -> None:
        """A problem of the folder rather than of a row (a missing or doubled file)."""
        self.error_count += 1
        if len(self.errors) < self.keep:
            self.errors.append(message)


# -- folder discovery ----------------------------------------------------------------------

# A file whose rows refer to another: without the other (in the folder or the database)
# every row would fail, so one error names the cause instead.
REFERENCES: tuple[tuple[str, str], ...] = (
    ("households.csv", "villages.csv"),
    ("officials.csv", "villages.csv"),
    ("members.csv", "households.csv"),
    ("surveys.csv", "households.csv"),
)


@dataclass
class Discovery:
    """The folder's sources in the contract's dependency order, and what was not used."""

    found: list[Located] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    troubled: set[str] = field(default_factory=set)  # contract files with an error here


def _stem(text: str, stems: dict[str, object], titles: dict[str, str]) -> str | None:
    """The contract stem a file or sheet name stands for: `households`, `贫困户`,
    `Households.csv` → households."""
    s = text.strip()
    low = s.lower().removesuffix(".csv")
    if low in stems:
        return low
    return titles.get(s.removesuffix(".csv"))


def find_sources(folder: Path, specs: Sequence[FileSpec] | None = None) -> Discovery:
    """Every input of the contract in `folder` as X.csv, X.xlsx (its sheet X, or its only
    sheet) or a sheet named X (or its Chinese title) of any workbook; every other file and
    sheet named in a note, never ignored silently."""
    import os

    from zhucun.exchange.clues import CLUES_STEM
    from zhucun.exchange.specs import DECISIONS_FILE, INPUT_FILES, OUTPUT_COLUMNS

    specs = specs if specs is not None else INPUT_FILES
    by_stem = {s.name.removesuffix(".csv"): s for s in specs}
    titles = {SHEET_TITLES[s]: s for s in by_stem if s in SHEET_TITLES}
    out_stems = {n.removesuffix(".csv") for n in OUTPUT_COLUMNS} - set(by_stem)
    out_titles = {SHEET_TITLES[s]: s for s in out_stems if s in SHEET_TITLES}
    found: dict[str, list[Located]] = {s: [] for s in by_stem}
    d = Discovery()
    decisions_note = (
        "skipped: review decisions are applied by `zhucun review import`, "
        "which checks each one as a review"
    )
    clues_note = (
        "skipped: monitoring clues are recorded by `zhucun monitor clues import`, "
        "which starts each one's 15-day clock"
    )
    accepted = ", ".join(f"{s} ({SHEET_TITLES.get(s, s)})" for s in by_stem)

    def other(name: str) -> str | None:
        """The note for a file or sheet named after a non-input file of the contract."""
        if name.strip().lower().removesuffix(".csv") == CLUES_STEM:
            return clues_note
        stem = _stem(name, dict.fromkeys(out_stems), out_titles)
        if stem == DECISIONS_FILE.removesuffix(".csv"):
            return decisions_note
        if stem is not None:
            return "ignored: an output file of `zhucun export`"
        return None

    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        d.errors.append(f"{folder}: cannot be listed ({exc.strerror or exc})")
        return d
    for entry in entries:
        name, path = entry.name, Path(entry.path)
        base, _, ext = name.rpartition(".")
        ext = ext.lower()
        stem = _stem(base, by_stem, titles) if ext in ("csv", "xlsx", "xlsm") else None
        try:
            os.stat(path)  # follows links: a loop or a dangling link fails here
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError as exc:
            why = f"{name}: cannot be read ({exc.strerror or exc})"
            if stem is not None:
                d.errors.append(why)
                d.troubled.add(by_stem[stem].name)
            else:
                d.notes.append(f"{why}: ignored")
            continue
        if is_dir:
            d.notes.append(f"{name}/ ignored: a folder (files in subfolders are not read)")
        elif not is_file:
            d.notes.append(f"{name} ignored: not a regular file")
        elif ext == "csv" and stem is not None:
            found[stem].append(Located(by_stem[stem].name, path, None, by_stem[stem]))
        elif ext == "csv" and other(base) is not None:
            d.notes.append(f"{name} {other(base)}")
        elif ext in ("xlsx", "xlsm") and name.startswith("~$"):
            d.notes.append(f"{name} ignored: Excel's lock file (the workbook is open in Excel)")
        elif ext in ("xlsx", "xlsm"):
            try:
                book = Workbook(str(path))
                sheets = list(book.sheets)
                book.close()
            except XlsxError as exc:
                d.errors.append(f"{name}: cannot be read: {exc}")
                if stem is not None:
                    d.troubled.add(by_stem[stem].name)
                continue
            chosen: dict[str, str] = {}
            if stem is not None:  # households.xlsx: its sheet households/贫困户, or its only one
                named = [s for s in sheets if _stem(s, by_stem, titles) == stem]
                sheet = named[0] if named else (sheets[0] if len(sheets) == 1 else None)
                if sheet is None:
                    d.errors.append(
                        f"{name}: no sheet named {stem} or {SHEET_TITLES.get(stem, stem)} "
                        f"(sheets: {', '.join(sheets)})"
                    )
                    d.troubled.add(by_stem[stem].name)
                    continue
                chosen[sheet] = stem
            else:
                for s in sheets:
                    st = _stem(s, by_stem, titles)
                    if st is not None:
                        chosen[s] = st
            for s in sheets:
                if s in chosen:
                    spec = by_stem[chosen[s]]
                    found[chosen[s]].append(Located(spec.name, path, s, spec))
                else:
                    why = other(s) or f"ignored: not a sheet of an input file (use {accepted})"
                    d.notes.append(f"{name}[{s}] {why}")
        elif ext == "xls":
            d.notes.append(f"{name} ignored: the old Excel format is not read: {FIX}")
        else:
            d.notes.append(f"{name} ignored: not an input file of the exchange format")
    for stem, sources in found.items():
        if len(sources) > 1:
            labels = " and ".join(s.label for s in sources)
            d.errors.append(f"{by_stem[stem].name}: two sources, {labels}: keep one")
            d.troubled.add(by_stem[stem].name)
        elif sources:
            d.found.append(sources[0])
            if sources[0].label != sources[0].name:
                d.notes.append(f"{sources[0].name}: read from {sources[0].label}")
    return d


def missing_parents(
    found: list[Located], troubled: frozenset[str] | set[str] = frozenset()
) -> dict[str, list[str]]:
    """Files absent from the folder that present files refer to: parent → children (a file
    already reported as unreadable or doubled is not missing)."""
    present = {s.name for s in found} | set(troubled)
    out: dict[str, list[str]] = {}
    for child, parent in REFERENCES:
        if child in present and parent not in present:
            out.setdefault(parent, []).append(child)
    return out
