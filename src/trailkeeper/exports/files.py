"""Writing export files (CONTRACT section 5): JSONL, CSV or Parquet, optionally gzip.

The file is written as a stream: events are encoded a bounded batch at a time and every
byte passes once through a SHA-256, so memory stays flat whatever the export's size and the
summary the manifest needs (size, hash, count, first and last ``seq``) comes for free.

Export jobs write from raw rows (:func:`write_export_rows`): JSON lines written from the
rows (:mod:`.jsonlines`); CSV (:mod:`.csvfile`) and Parquet (:mod:`.parquet`) from Arrow
columns made straight from the rows (:mod:`.rows`).
:func:`write_export` writes API views (plus ``pii_salt``) into the same bytes: JSONL through
the download format (:mod:`trailkeeper.formats`), CSV and Parquet through Arrow columns of
the views. Both give the writers batches of :data:`~.columns.BUILD_ROWS` events, so that
Parquet pages and row groups fall in the same places. gzip output is a single member with
no file name and mtime 0, so the same events always give the same bytes.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from operator import lt
from typing import Any, Literal, Protocol, TypeVar

import pyarrow as pa

from trailkeeper.events.view import EventView
from trailkeeper.exports.columns import BUILD_ROWS
from trailkeeper.exports.csvfile import csv_batch, csv_record_batch, write_csv
from trailkeeper.exports.jsonlines import jsonl_rows
from trailkeeper.exports.parquet import columns_batch, record_batch, write_parquet
from trailkeeper.exports.rows import TIMESTAMP, row_columns
from trailkeeper.exports.stamps import stamp_column
from trailkeeper.formats import JsonlWriter
from trailkeeper.storage.exportrows import ExportRow

__all__ = [
    "Compression",
    "FileSummary",
    "Format",
    "Output",
    "content_type",
    "file_extension",
    "write_export",
    "write_export_rows",
]

Format = Literal["jsonl", "csv", "parquet"]
Compression = Literal["none", "gzip"]
_T = TypeVar("_T")

ENCODE_ROWS = 4096
"""Rows encoded at a time into JSONL or CSV: half as many calls as with :data:`BUILD_ROWS`
(twice as many rows cost more memory than they save time)."""

GZIP_LEVEL = 3
"""zlib's fast levels (1-3) compress JSONL much faster than the default 6 for files a little
larger (``docs/benchmarks.md``): exports are big, and CPU is what bounds them."""

FAST_GZIP_LEVEL = 1
"""ISA-L's level 1 (of 0-3) with ``fast_gzip``: about five times as fast as zlib's level 3 on
JSONL, for files about 10% larger (``bench/retention.py`` prints both)."""

_EXTENSIONS = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}
_CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


class Output(Protocol):
    """Where a file is written (a binary file, or a wrapper of one); it stays open."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...

    def flush(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FileSummary:
    """What the manifest says about the file. ``sha256`` is the hex hash of the bytes
    written (of the compressed file when gzip); ``first_seq``/``last_seq`` are None when
    the file holds no event."""

    event_count: int
    bytes: int
    sha256: str
    first_seq: int | None
    last_seq: int | None


def file_extension(fmt: Format, compression: Compression) -> str:
    """``.jsonl``, ``.csv``, ``.parquet``, with ``.gz`` appended for gzip."""
    _check(fmt, compression)
    return _EXTENSIONS[fmt] + (".gz" if compression == "gzip" else "")


def content_type(fmt: Format, compression: Compression) -> str:
    """The media type of the stored file: gzip files are ``application/gzip`` (served as they
    are, not with ``Content-Encoding``, so the download keeps the hash in the manifest)."""
    _check(fmt, compression)
    return "application/gzip" if compression == "gzip" else _CONTENT_TYPES[fmt]


def write_export(
    views: Iterable[EventView], fmt: Format, compression: Compression, out: Output
) -> FileSummary:
    """Write ``views`` (API views plus ``pii_salt``, in ascending ``seq``) to ``out``.

    Raises ValueError for an unknown format, Parquet with gzip, or views out of order; after
    an error ``out`` holds a partial file, to be discarded."""
    _check(fmt, compression)
    tally = _Tally()
    events = tally.watch(views)
    if fmt == "jsonl":
        blocks: Iterator[Any] = JsonlWriter().chunks(events, include_salt=True)
    else:
        build = csv_batch if fmt == "csv" else record_batch
        blocks = map(build, _batches(events, BUILD_ROWS))
    return _write(blocks, fmt, compression, out, tally)


def write_export_rows(
    batches: Iterable[Sequence[ExportRow]],
    fmt: Format,
    compression: Compression,
    out: Output,
    *,
    fast_gzip: bool = False,
) -> FileSummary:
    """Write raw rows (in ascending ``seq``) to ``out``: the same bytes as
    :func:`write_export` of their views, several times faster (see :mod:`.rows`).
    ``fast_gzip`` (JSONL): compress with ISA-L (:data:`FAST_GZIP_LEVEL`) instead of
    zlib: another gzip file of the same lines, written about five times as fast."""
    _check(fmt, compression)
    tally = _Tally()
    size = BUILD_ROWS if fmt == "parquet" else ENCODE_ROWS
    chunks = (tally.rows(c) for c in _batches(chain.from_iterable(batches), size))
    if fmt == "jsonl":
        return _write(map(jsonl_rows, chunks), fmt, compression, out, tally, fast_gzip)
    columns = map(row_columns, chunks)
    blocks: Iterator[Any]
    if fmt == "csv":
        blocks = (csv_record_batch(_stamped(c)) for c in columns)
    else:
        blocks = (columns_batch(_typed(c)) for c in columns)
    return _write(blocks, fmt, compression, out, tally)


def _stamped(columns: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Timestamps as the API's text (CSV)."""
    for name in ("occurred_at", "received_at"):
        columns[name] = stamp_column(columns[name])
    return columns


def _typed(columns: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Timestamps as UTC timestamps (Parquet)."""
    for name in ("occurred_at", "received_at"):
        columns[name] = columns[name].view(TIMESTAMP)
    return columns


def _batches(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """Lists of ``size`` items (the last may be shorter). Parquet's are
    :data:`BUILD_ROWS` long in both paths, so that pages and row groups fall in the same
    places; JSONL and CSV bytes do not depend on how rows are grouped."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _write(
    blocks: Iterator[Any],
    fmt: Format,
    compression: Compression,
    out: Output,
    tally: _Tally,
    fast_gzip: bool = False,
) -> FileSummary:
    """Bytes (JSONL) or record batches (CSV, Parquet) into ``out``, hashed on the way."""
    sink = _HashingSink(out)
    target: _HashingSink | _GzipSink = _GzipSink(sink, fast_gzip) if compression == "gzip" else sink
    if fmt == "parquet":
        write_parquet(blocks, sink)
    elif fmt == "csv":
        write_csv(blocks, target)
    else:
        for block in blocks:
            target.write(block)
    target.close()
    return FileSummary(tally.count, sink.size, sink.hexdigest(), tally.first, tally.last)


def _check(fmt: str, compression: str) -> None:
    if fmt not in _EXTENSIONS:
        raise ValueError(f"unknown export format {fmt!r}; expected jsonl, csv or parquet")
    if compression not in ("none", "gzip"):
        raise ValueError(f"unknown compression {compression!r}; expected none or gzip")
    if fmt == "parquet" and compression != "none":
        raise ValueError("Parquet files are compressed inside; use compression 'none'")


class _Tally:
    """Counts the events on their way to the writer and checks their order."""

    def __init__(self) -> None:
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None

    def watch(self, views: Iterable[EventView]) -> Iterator[EventView]:
        for view in views:
            self._seqs([view["seq"]])
            yield view

    def rows(self, rows: list[ExportRow]) -> list[ExportRow]:
        self._seqs([row[1] for row in rows])
        return rows

    def _seqs(self, seqs: list[int]) -> None:
        checked = seqs if self.last is None else [self.last, *seqs]
        if not all(map(lt, checked, islice(checked, 1, None))):
            i = next(i for i in range(1, len(checked)) if checked[i] <= checked[i - 1])
            seq, previous = checked[i], checked[i - 1]
            raise ValueError(f"export events must come in ascending seq: {seq} after {previous}")
        if self.first is None:
            self.first = seqs[0]
        self.last = seqs[-1]
        self.count += len(seqs)


class _HashingSink:
    """A write-only file that hashes and counts what passes through to ``out``.

    pyarrow wraps it as a Python file, which needs ``write``, ``tell``, ``flush`` and
    ``closed``; closing it leaves ``out`` open (the caller owns it)."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hash.update(data)
        self._out.write(data)
        length = memoryview(data).nbytes
        self.size += length
        return length

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _GzipSink:
    """Compresses what is written into one gzip member (wbits 31: gzip header, mtime 0, no
    name) and passes it on; ``close`` writes the trailer. ``fast``: with ISA-L, whose
    ``isal_zlib`` mirrors ``zlib`` (and, like it, lets go of the GIL while it works)."""

    def __init__(self, out: _HashingSink, fast: bool = False) -> None:
        self._out = out
        self._compressor: Any
        if fast:
            from isal import isal_zlib

            self._compressor = isal_zlib.compressobj(FAST_GZIP_LEVEL, isal_zlib.DEFLATED, 31)
        else:
            self._compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        compressed = self._compressor.compress(data)
        if compressed:
            self._out.write(compressed)
        return memoryview(data).nbytes

    def tell(self) -> int:
        return self._out.size

    def flush(self) -> None:
        """Nothing to do: flushing zlib mid-stream would only cost compression."""

    def close(self) -> None:
        if not self.closed:
            self._out.write(self._compressor.flush())
            self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False
