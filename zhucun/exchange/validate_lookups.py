"""What pass 1 of the import keeps and looks up: the folder's keys as compact hash
indexes, references checked against the database in chunks, read-only lookups in the
registry already stored, and the progress a display is told. (Split from `validate`, which
re-exports every name.)"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from zhucun.models import Cadre, County, Household, Official, Township, Village

PROGRESS_EVERY = 10_000


class Progress(Protocol):
    """What the importer tells a progress display; the CLI provides rich or plain ones."""

    def start(self, label: str, total_bytes: int) -> None: ...

    def update(self, done_bytes: int, rows: int) -> None: ...

    def finish(self, rows: int) -> None: ...


class NoProgress:
    def start(self, label: str, total_bytes: int) -> None:
        pass

    def update(self, done_bytes: int, rows: int) -> None:
        pass

    def finish(self, rows: int) -> None:
        pass


class RegistryDB:
    """Read-only lookups in the registry already in the database. Small tables (villages,
    townships, counties, cadres, officials) are loaded once; households and ID numbers are
    looked up in chunks, so a national database never lands in memory."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self._sets: dict[str, set[str]] = {}

    def _all(self, column: Any) -> set[str]:
        name = f"{column.table.name}.{column.name}"
        if name not in self._sets:
            if self.engine is None:
                self._sets[name] = set()
            else:
                with self.engine.connect() as conn:
                    self._sets[name] = set(conn.scalars(select(column)))
        return self._sets[name]

    @property
    def villages(self) -> set[str]:
        return self._all(Village.__table__.c.village_code)

    @property
    def townships(self) -> set[str]:
        return self._all(Township.__table__.c.township_code)

    @property
    def counties(self) -> set[str]:
        return self._all(County.__table__.c.county_code)

    @property
    def cadres(self) -> set[str]:
        return self._all(Cadre.__table__.c.cadre_id)

    @property
    def officials(self) -> set[str]:
        return self._all(Official.__table__.c.person_id)

    def existing(self, columns: Iterable[Any], keys: set[str]) -> set[str]:
        """Which of `keys` are values of any of `columns`."""
        found: set[str] = set()
        if self.engine is None or not keys:
            return found
        with self.engine.connect() as conn:
            for column in columns:
                found.update(conn.scalars(select(column).where(column.in_(list(keys)))))
        return found


def open_registry(url: str, engine_for: Callable[[str], Engine]) -> RegistryDB:
    """Lookups for `url`; a SQLite file that does not exist yet is not created here (pass 1
    must leave no trace), and a database without the schema counts as empty."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not os.path.exists(path):
            return RegistryDB(None)
    engine = engine_for(url)
    if not inspect(engine).has_table(Household.__tablename__):
        return RegistryDB(None)
    return RegistryDB(engine)


class KeyIndex:
    """The keys of one column as 8-byte hashes in 256 arrays: a million household IDs take
    9 MB instead of ~110 MB as a set of strings. `seal()` sorts the arrays and returns the
    hashes seen twice: duplicate *candidates*, confirmed on the real keys by a re-read.
    Membership (`in`, after sealing) is by hash; a false hit (~1e-7 for a million keys per
    million lookups) would only let a reference through that the database's foreign keys
    still refuse in pass 2."""

    def __init__(self) -> None:
        self.buckets = [array("q") for _ in range(256)]

    def add(self, key: object) -> None:
        h = hash(key)
        self.buckets[h & 255].append(h)

    def seal(self) -> set[int]:
        repeated: set[int] = set()
        for i, bucket in enumerate(self.buckets):
            ordered = sorted(bucket)
            repeated.update(a for a, b in zip(ordered, ordered[1:], strict=False) if a == b)
            self.buckets[i] = array("q", ordered)
        return repeated

    def __contains__(self, key: object) -> bool:
        h = hash(key)
        bucket = self.buckets[h & 255]
        i = bisect_left(bucket, h)
        return i < len(bucket) and bucket[i] == h


class Deferred:
    """References to check against the database in chunks (key, line, column)."""

    def __init__(
        self, check: Callable[[set[str]], set[str]], report: Callable[..., None], size: int
    ) -> None:
        self.check = check
        self.report = report
        self.size = size
        self.pending: list[tuple[str, int, str]] = []

    def add(self, key: str, line: int, label: str) -> None:
        self.pending.append((key, line, label))
        if len(self.pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        found = self.check({key for key, _, _ in self.pending})
        for key, line, label in self.pending:
            if key not in found:
                self.report(line, label)
        self.pending = []
