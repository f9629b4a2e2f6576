"""The rows pass 1 parsed, kept on disk for pass 2.

Parsing a row (ID check digits, numbers, code lists) costs more than writing it; pass 2
used to parse every file a second time. Pass 1 now appends each parsed row to an unnamed
temporary file (pickled batches of tuples: memory stays one batch per file) and pass 2
reads them back, so it writes exactly what was checked. The file has no name on disk
(deleted when closed, or when the process dies) and is readable by this process only: it
holds the same personal data as the folder being imported. Once pass 1 has found an
error nothing is written, so spilling stops."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import IO, Any

BATCH = 4096


class Spill:
    """Parsed rows of one file, in order. Every row of a valid file has the same keys in
    the same order (the layout's), so a row is stored as the tuple of its values."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = tempfile.TemporaryFile()  # noqa: SIM115 - see close()
        self.keys: tuple[str, ...] | None = None
        self.rows = 0
        self.size = 0
        self._batch: list[tuple[Any, ...]] = []

    @property
    def usable(self) -> bool:
        return self._file is not None

    def add(self, values: dict[str, Any]) -> None:
        if self.keys is None:
            self.keys = tuple(values)
        elif len(values) != len(self.keys):  # a row short of a cell: not writable anyway
            self.close()
            return
        self._batch.append(tuple(values.values()))
        self.rows += 1
        if len(self._batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._file is not None and self._batch:
            pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._batch = []

    def finish(self) -> None:
        """End of the file: the last batch to disk, ready to read back."""
        self._flush()
        if self._file is not None:
            self.size = self._file.tell()

    def position(self) -> int:
        return self._file.tell() if self._file is not None else 0

    def _batches(self) -> Iterator[list[tuple[Any, ...]]]:
        assert self._file is not None, "spill closed"
        f = self._file
        f.seek(0)
        while f.tell() < self.size:
            yield pickle.load(f)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows as dicts again (fresh ones: pass 2 may change them)."""
        if self.keys is None:
            return
        keys = self.keys
        for batch in self._batches():
            for values in batch:
                yield dict(zip(keys, values, strict=True))

    def tuples(self, keys: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """The rows as tuples of the values of `keys` (two or more), with no dict per row:
        for a file written as it was parsed."""
        if self.keys is None:
            return
        pick = itemgetter(*(self.keys.index(k) for k in keys))
        for batch in self._batches():
            yield from map(pick, batch)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._batch = []
