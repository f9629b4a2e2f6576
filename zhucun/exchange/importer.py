"""`zhucun import DIR`: validate the whole folder first (pass 1, read-only for the
database), then write it in one transaction (pass 2). Any error → nothing written.

Pass 1 keeps each file's parsed rows in an unnamed temporary file (`spill`), so pass 2
writes them without parsing again: COPY and one merge per table on PostgreSQL, batched
executemany of one compiled upsert on SQLite, a plain INSERT for a batch none of whose keys
is stored (`registry_writes.upsert_stream`). Memory stays flat in the number of rows except
for what pass 1 keeps per household (key hashes, member tallies)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlmodel import Session

from zhucun.exchange.reader import Issues, layout_for, parse_cells
from zhucun.exchange.registry_writes import (
    UpsertCounts,
    record_file_import,
    upsert_rows,
    upsert_stream,
    upsert_tuples,
    write_cache,
)
from zhucun.exchange.sources import (
    Discovery,
    LabelledIssues,
    Located,
    find_sources,
    missing_parents,
    open_located,
)
from zhucun.exchange.specs import (
    INPUT_FILES,
    FileSpec,
)
from zhucun.exchange.spill import Spill
from zhucun.exchange.validate import (
    PROGRESS_EVERY,
    FolderState,
    NoProgress,
    Progress,
    RegistryDB,
    Validator,
    open_registry,
)
from zhucun.models import (
    Cadre,
    County,
    Household,
    Member,
    Official,
    Relation,
    Survey,
    Township,
    Village,
)
from zhucun.rules.members import COUNT_COLUMNS, MemberTally, apply_members

_RELATION_INVERSE = {
    "parent": "child",
    "child": "parent",
    "grandparent": "grandchild",
    "grandchild": "grandparent",
}


@dataclass
class TableReport:
    file: str
    table: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: int = 0


@dataclass
class ImportResult:
    ok: bool
    tables: list[TableReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tables": [vars(t) for t in self.tables],
            "error_count": self.error_count,
            "errors": self.errors,
            "warning_count": self.warning_count,
            "warnings": self.warnings,
            "notes": self.notes,
        }


class ImportError_(Exception):  # noqa: N801 - `ImportError` is a builtin
    """A folder that cannot be imported at all (missing, or holding no input file)."""


# -- row conversion for pass 2: parsed CSV row → table row -----------------------------------


def _village_row(v: dict[str, Any]) -> dict[str, Any]:
    return {k: v[k] for k in _VILLAGE_COLUMNS}


# exit_year belongs to the village exit procedure: an import (or a re-import) never sets it
_VILLAGE_COLUMNS = [c.name for c in Village.__table__.columns if c.name != "exit_year"]


def _household_row(v: dict[str, Any], members: dict[str, MemberTally]) -> dict[str, Any]:
    """A households.csv row as stored: counts from its members where members.csv lists
    them (the tally is used up: what stays in `members` is for households already in the
    database); a post-exit attribute (一般脱贫户…) keeps its kind and marks the household
    exited on first import (the lifecycle owns the status after that)."""
    tally = members.pop(v["household_id"], None)
    if tally is not None:
        apply_members(v, tally)
    else:
        v["counts_source"] = "household"
    if v["head_birth_year"] is None:
        v["head_birth_year"] = int(v["head_id_number"][6:10])
    kind, _, exited = v["attribute"].partition("_")
    v["attribute"] = kind
    if not v["registered_poor"]:
        v["status"] = "non_poor"  # insert only
    else:
        v["status"] = "exited" if exited else "poor"
    exit_year = v.get("exit_year")
    v["exited_period"] = f"{exit_year}-12" if exited and exit_year else None  # insert only
    return v


_DERIVED = (*COUNT_COLUMNS, "head_birth_year", "compulsory_education_ok", "basic_medical_ok")


def derive_from_members(
    session: Session, members: dict[str, MemberTally], batch_size: int
) -> UpsertCounts:
    """Households already in the database whose members came in this folder (the tallies
    the folder's households.csv did not use up): their counts are set from the members, in
    batches, only where they change."""
    table = Household.__table__
    counts = UpsertCounts()
    pending = list(members)
    for i in range(0, len(pending), batch_size):
        chunk = pending[i : i + batch_size]
        rows = session.execute(
            select(table.c.household_id, *(table.c[c] for c in (*_DERIVED, "counts_source"))).where(
                table.c.household_id.in_(chunk)
            )
        ).mappings()
        changes = []
        for row in rows:
            new = apply_members(dict(row), members[row["household_id"]])
            if any(new[c] != row[c] for c in (*_DERIVED, "counts_source")):
                changes.append({"hid": row["household_id"], **{f"v_{c}": new[c] for c in _DERIVED}})
        if changes:
            session.execute(
                update(table)
                .where(table.c.household_id == bindparam("hid"))
                .values({**{c: bindparam(f"v_{c}") for c in _DERIVED}, "counts_source": "members"}),
                changes,
            )
        counts.updated += len(changes)
        counts.unchanged += len(chunk) - len(changes)
    return counts


def _relation_row(v: dict[str, Any]) -> dict[str, Any]:
    """Stored once per pair with id_number_a < id_number_b; a directed relation (parent,
    grandparent) is inverted when its pair is swapped, so it keeps its meaning."""
    a, b, kind = v["id_number_a"], v["id_number_b"], v["relation"]
    if a > b:
        a, b, kind = b, a, _RELATION_INVERSE.get(kind, kind)
    return {"id_number_a": a, "id_number_b": b, "relation": kind}


def _same(v: dict[str, Any]) -> dict[str, Any]:
    return v


@dataclass(frozen=True)
class Target:
    table: Table
    key: tuple[str, ...]
    convert: Callable[[dict[str, Any]], dict[str, Any]]
    insert_only: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "villages.csv": Target(Village.__table__, ("village_code",), _village_row),
    "households.csv": Target(
        Household.__table__,
        ("household_id",),
        _household_row,
        # the lifecycle owns these after the first import: the procedures set them at
        # announcement (识别 → identification_year, 退出 → exit_year), a re-import keeps them
        ("status", "exited_period", "exit_year", "identification_year"),
    ),
    "cadres.csv": Target(Cadre.__table__, ("cadre_id",), _same),
    "officials.csv": Target(Official.__table__, ("person_id",), _same),
    "relations.csv": Target(Relation.__table__, ("id_number_a", "id_number_b"), _relation_row),
    "surveys.csv": Target(Survey.__table__, ("household_id", "survey_date"), _same),
    "members.csv": Target(Member.__table__, ("member_id",), _same),
}


def _write_file(
    session: Session,
    source: Located,
    spec: FileSpec,
    target: Target,
    state: FolderState,
    progress: Progress,
    batch_size: int,
) -> UpsertCounts:
    """Pass 2 of one file: its rows from pass 1's spill when it holds them all (as tuples
    straight to the write when the file is stored as parsed), else parsed again."""
    spill = state.spills.get(spec.name)
    if spill is None or not spill.usable or spill.rows != state.rows.get(spec.name, 0):
        progress.start(f"writing {source.label}", source.path.stat().st_size)
        rows = map(target.convert, _parsed_rows(source, spec, progress))
        return _upsert(session, target, rows, batch_size)
    progress.start(f"writing {source.label}", spill.size)
    columns = [k for k in spill.keys or () if k in target.table.c]
    if target.convert is _same and len(columns) > 1:
        return upsert_tuples(
            session=session,
            table=target.table,
            columns=columns,
            rows=_counted(spill.tuples(columns), spill, progress),
            key=target.key,
            insert_only=target.insert_only,
            batch_size=batch_size,
        )
    rows = map(target.convert, _counted(iter(spill), spill, progress))
    return _upsert(session, target, rows, batch_size)


def _counted(rows: Iterator[Any], spill: Spill, progress: Progress) -> Iterator[Any]:
    for n, row in enumerate(rows, start=1):
        yield row
        if n % PROGRESS_EVERY == 0:
            progress.update(spill.position(), n)


def _parsed_rows(source: Located, spec: FileSpec, progress: Progress) -> Iterator[dict[str, Any]]:
    """Pass 2 stream: the file already passed pass 1, so every row parses."""
    issues = Issues(keep=0)
    with open_located(source) as f:
        header = f.read_header()
        assert header is not None
        layout = layout_for(spec, header, issues, ignore_unknown=True)
        assert layout is not None
        for n, (line, cells) in enumerate(f.rows(), start=1):
            values, ok = parse_cells(layout, line, cells, issues)
            if values is None or not ok:  # the file changed since pass 1
                raise RuntimeError(f"{spec.name}:{line}: changed during the import")
            yield values
            if n % PROGRESS_EVERY == 0:
                progress.update(f.bytes_read, n)


def _upsert(
    session: Session, target: Target, rows: Iterable[dict[str, Any]], batch_size: int
) -> UpsertCounts:
    return upsert_stream(
        session=session,
        table=target.table,
        rows=rows,
        key=target.key,
        insert_only=target.insert_only,
        batch_size=batch_size,
    )


def _report(file: str, table: str, rows: int, counts: UpsertCounts, warnings: int) -> TableReport:
    return TableReport(
        file, table, rows, counts.inserted, counts.updated, counts.unchanged, warnings
    )


def write_folder(
    session: Session,
    folder: Path,
    specs: list[FileSpec],
    state: FolderState,
    issues: Issues,
    *,
    batch_size: int,
    progress: Progress,
    sources: dict[str, Located] | None = None,
) -> list[TableReport]:
    """Pass 2: upsert every file in dependency order and audit each file that changed
    something. Never commits: the caller owns the one transaction. `sources`: where each
    file's table is (a CSV file or a workbook's sheet); default `folder / X.csv`."""
    at = datetime.now(UTC)
    reports: list[TableReport] = []
    for spec in specs:
        per_table: dict[str, UpsertCounts] = {}
        if spec.name == "villages.csv":
            for table, key, rows in (
                (County.__table__, "county_code", state.counties.values()),
                (Township.__table__, "township_code", state.townships.values()),
            ):
                clean = [{k: v for k, v in r.items() if k != "line"} for r in rows]
                counts = UpsertCounts()
                for i in range(0, len(clean), batch_size):
                    counts.add(
                        upsert_rows(
                            session=session, table=table, rows=clean[i : i + batch_size], key=(key,)
                        )
                    )
                per_table[table.name] = counts
                reports.append(_report(spec.name, table.name, len(clean), counts, 0))
        target = TARGETS[spec.name]
        if spec.name == "households.csv":
            target = replace(target, convert=lambda v: _household_row(v, state.members))
        source = (sources or {}).get(spec.name) or Located(spec.name, folder / spec.name)
        counts = _write_file(session, source, spec, target, state, progress, batch_size)
        rows = state.rows.get(spec.name, 0)
        progress.finish(rows)
        per_table[target.table.name] = counts
        if spec.name == "members.csv":
            derived = derive_from_members(session, state.members, batch_size)
            if derived.updated:
                per_table[Household.__tablename__] = derived
        warnings = issues.warnings_by_file.get(spec.name, 0)
        reports.append(_report(spec.name, target.table.name, rows, counts, warnings))
        if any(c.inserted or c.updated for c in per_table.values()):
            record_file_import(
                session=session, file=spec.name, at=at, counts=per_table, warnings=warnings
            )
    return reports


def import_folder(
    folder: Path,
    *,
    url: str | None = None,
    ignore_unknown_columns: bool = False,
    batch_size: int | None = None,
    progress: Progress | None = None,
    max_errors: int = 1000,
) -> ImportResult:
    """Import every input file of the contract found in `folder` into the database at `url`
    (default: the configured one). Returns the result; writes only when it is ok."""
    from zhucun.db import engine_for
    from zhucun.settings import get_settings

    settings = get_settings()
    url = url or settings.effective_database_url
    batch_size = batch_size or settings.batch_size
    progress = progress or NoProgress()
    if not folder.is_dir():
        raise ImportError_(f"{folder} is not a folder")
    found = find_sources(folder)
    specs = [s.spec for s in found.found if s.spec is not None]
    sources = {s.name: s for s in found.found}
    notes = found.notes
    if not specs and not found.errors:
        raise ImportError_(
            f"{folder} holds no input file ({', '.join(s.name for s in INPUT_FILES)}, "
            "as .csv or .xlsx)"
        )

    issues = LabelledIssues(keep=max_errors, labels={s.name: s.label for s in found.found})
    for message in found.errors:
        issues.fatal(message)
    db = open_registry(url, engine_for)
    validator = Validator(
        db,
        issues,
        ignore_unknown=ignore_unknown_columns,
        batch_size=batch_size,
        progress=progress,
        spill=True,
    )
    _refuse_missing_parents(found, db, issues, validator.broken)
    with validator.state as state:  # its spills are closed however the import ends
        validator.run(folder, specs, sources)
        notes.extend(issues.notes)
        result = ImportResult(
            ok=issues.error_count == 0,
            errors=issues.errors,
            error_count=issues.error_count,
            warnings=issues.warnings,
            warning_count=issues.warning_count,
            notes=notes,
        )
        if not result.ok:
            return result

        if db.engine is None:  # a new database: create the schema first (Alembic, as always)
            from zhucun.migrate import upgrade

            upgrade(url)
            notes.append("created the database schema (zhucun db upgrade)")
        with Session(engine_for(url)) as session:
            try:
                with write_cache(session):
                    result.tables = write_folder(
                        session,
                        folder,
                        specs,
                        state,
                        issues,
                        batch_size=batch_size,
                        progress=progress,
                        sources=sources,
                    )
                session.commit()
            except BaseException:
                session.rollback()
                raise
        return result


def _refuse_missing_parents(
    found: Discovery, db: RegistryDB, issues: LabelledIssues, broken: set[str]
) -> None:
    """A file absent from the folder and empty in the database that present files refer to
    (surveys without households): one error naming the cause, and the file counted as
    broken so its thousands of follow-on "unknown household" errors are not reported."""
    broken.update(found.troubled)  # already reported: no follow-on errors either
    for parent, children in missing_parents(found.found, found.troubled).items():
        target = TARGETS.get(parent)
        if target is None:
            continue
        if db.engine is not None:
            with db.engine.connect() as conn:
                column = target.table.c[target.key[0]]
                if conn.scalar(select(column).limit(1)) is not None:
                    continue
        stem = parent.removesuffix(".csv")
        verb = "refers" if len(children) == 1 else "refer"
        issues.fatal(
            f"{parent}: missing: {' and '.join(children)} {verb} to {stem} "
            f"(add {parent} or {stem}.xlsx)"
        )
        broken.add(parent)
