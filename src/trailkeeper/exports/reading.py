"""Reading export files back into API views, streaming, with where each event was.

Used by the offline checker (:mod:`.checking`) and by anyone who wants the events of an
export back. Each event comes as an :class:`Entry` naming its place in the file (the 1-based
line for JSONL and CSV, where the CSV header is line 1; the 1-based row for Parquet). A line
that cannot be read becomes an entry with a ``problem`` (the checker reports it); a file
that cannot be read any further raises :class:`ExportFormatError` naming where it stopped.

CSV cells are turned back into values: the one leading ``'`` the writer added to defuse a
formula is removed, an empty cell is null, ``changes``/``metadata``/``run`` are parsed from
JSON text. An empty *string* is written as ``""`` but the stdlib reader cannot tell it from
an empty cell, so the entry lists the fields read as null that could have been ``""``
(``blanks``) and the checker tries both readings.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import orjson

from trailkeeper.events.view import EventView
from trailkeeper.formats import CSV_HEADER

__all__ = ["BLANKABLE", "Entry", "ExportFormatError", "read_entries", "read_views"]

Progress = Callable[[int], None]
"""Told how many bytes of the (compressed) file have been read so far."""

MAX_LINE_BYTES = 4 * 1024 * 1024
"""No event's line comes near this (an event is at most 64 KiB as sent)."""
PROGRESS_EVERY = 1024
_FORMULA_STARTS = ("=", "+", "-", "@", "'", "\t", "\r")
_SEQ = re.compile(r"0|[1-9][0-9]*")
BLANKABLE = ("actor.name", "actor.email", "user_agent", "resource.name")
"""Fields that may hold ``""``, which a CSV reader sees as an empty (null) cell."""


class ExportFormatError(ValueError):
    """The file cannot be read any further. ``where`` is the line (or row) it stopped at."""

    def __init__(self, where: int | None, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(slots=True)
class Entry:
    """One event of the file, or why its line could not be read. ``view`` is what the
    line holds, of the view's shape only once the checker finds nothing wrong with it."""

    where: int
    view: EventView | None
    problem: str | None = None
    blanks: tuple[str, ...] = ()


def read_entries(
    raw: BinaryIO, fmt: str, compression: str, progress: Progress | None = None
) -> Iterator[Entry]:
    """Every event of an export file, in file order. ``raw`` is the file as stored."""
    if fmt == "parquet":
        if compression != "none":
            raise ExportFormatError(None, "a Parquet export is never gzip-compressed")
        yield from _parquet(raw, progress)
        return
    stream: BinaryIO = raw
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    reader = _jsonl if fmt == "jsonl" else _csv
    where = 0
    try:
        for entry in reader(stream):
            where = entry.where
            yield entry
            if progress is not None and where % PROGRESS_EVERY == 0:
                progress(raw.tell())
    except EOFError:
        raise ExportFormatError(
            where + 1, "the gzip stream ends early: the file was truncated"
        ) from None
    except (OSError, zlib.error) as exc:
        raise ExportFormatError(where + 1, f"the gzip stream is damaged ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ExportFormatError(where + 1, f"the text is not UTF-8 ({exc.reason})") from None
    if progress is not None:
        progress(raw.tell())


def read_views(raw: BinaryIO, fmt: str, compression: str) -> Iterator[EventView]:
    """The views of a file, raising ExportFormatError at the first unreadable line."""
    for entry in read_entries(raw, fmt, compression):
        if entry.view is None or entry.problem is not None:
            raise ExportFormatError(entry.where, entry.problem or "unreadable")
        yield entry.view


# JSONL -------------------------------------------------------------------------------------


def _jsonl(stream: BinaryIO) -> Iterator[Entry]:
    line_number = 0
    while line := stream.readline(MAX_LINE_BYTES):
        line_number += 1
        if not line.endswith(b"\n"):
            if len(line) >= MAX_LINE_BYTES:
                raise ExportFormatError(line_number, "the line is far longer than any event")
            yield Entry(line_number, None, "the line does not end with a newline: the file was cut")
            continue
        try:
            view = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Entry(line_number, None, f"the line is not valid JSON ({exc})")
            continue
        if not isinstance(view, dict):
            yield Entry(line_number, None, "the line is not a JSON object")
            continue
        yield Entry(line_number, _unchecked(view))


# CSV ---------------------------------------------------------------------------------------


def _csv(stream: BinaryIO) -> Iterator[Entry]:
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    reader = csv.reader(text, strict=True)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise ExportFormatError(1, "the file is empty: a CSV export starts with its header")
        if tuple(header) != CSV_HEADER:
            raise ExportFormatError(1, "the first line is not the CSV header of an export")
        start = reader.line_num + 1
        for cells in reader:
            yield _csv_entry(start, cells)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ExportFormatError(start, f"the CSV cannot be parsed ({exc})") from None
    finally:
        text.detach()  # the caller owns the file: collecting the wrapper must not close it


def _undefuse(cell: str) -> str:
    """Remove the ``'`` the writer put before a cell starting like a formula."""
    if not cell.startswith("'"):
        return cell
    if len(cell) < 2 or not cell[1:].startswith(_FORMULA_STARTS):
        raise ValueError(f"a cell starts with ' although it needs no defusing: {cell[:40]!r}")
    return cell[1:]


def _json_cell(name: str, cell: str | None) -> Any:
    if cell is None:
        return None
    try:
        return orjson.loads(cell)
    except orjson.JSONDecodeError:
        raise ValueError(f"the {name} cell is not JSON") from None


def _csv_entry(where: int, cells: list[str]) -> Entry:
    if len(cells) != len(CSV_HEADER):
        return Entry(where, None, f"the row has {len(cells)} cells, the header {len(CSV_HEADER)}")
    try:
        values = [_undefuse(cell) or None for cell in cells]
    except ValueError as exc:
        return Entry(where, None, str(exc))
    row = dict(zip(CSV_HEADER, values, strict=True))
    seq = row["seq"]
    if seq is None or not _SEQ.fullmatch(seq):
        return Entry(where, None, f"seq {seq!r} is not a non-negative integer")
    try:
        view = _csv_view(row, int(seq))
    except ValueError as exc:
        return Entry(where, None, str(exc))
    cells_of = {"actor.name": "user", "actor.email": "user_email", "user_agent": "user_agent"}
    if view["resource"] is not None:
        cells_of["resource.name"] = "resource_name"
    blanks = tuple(name for name, cell in cells_of.items() if row[cell] is None)
    run_id = None if view["run"] is None else _get(view["run"], "id")
    if row["run_id"] != run_id:
        return Entry(where, view, f"run_id {row['run_id']!r} is not run.id {run_id!r}")
    return Entry(where, view, None, blanks)


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _unchecked(view: dict[str, Any]) -> EventView:
    """A view as the file holds it: checked later (:mod:`.event_checks`), not here."""
    return cast(EventView, view)


def _csv_view(row: dict[str, str | None], seq: int) -> EventView:
    has_resource = row["resource_type"] is not None or row["resource_id"] is not None
    return _unchecked(
        {
            "id": row["id"],
            "seq": seq,
            "action": row["event_type"],
            "category": row["category"],
            "occurred_at": row["timestamp"],
            "received_at": row["received_at"],
            "actor": {
                "id": row["actor_id"],
                "type": row["actor_type"],
                "name": row["user"],
                "email": row["user_email"],
            },
            "resource": {
                "type": row["resource_type"],
                "id": row["resource_id"],
                "name": row["resource_name"],
            }
            if has_resource
            else None,
            "source": row["source"],
            "ip": row["ip"],
            "user_agent": row["user_agent"],
            "changes": _json_cell("changes", row["changes"]),
            "run": _json_cell("run", row["run"]),
            "metadata": _json_cell("metadata", row["metadata"]),
            "pii": row["pii"],
            "leaf_hash": row["leaf_hash"],
            "pii_salt": row["pii_salt"],
        }
    )


# Parquet -----------------------------------------------------------------------------------


def _parquet(raw: BinaryIO, progress: Progress | None) -> Iterator[Entry]:
    # pyarrow (~80 MB of RSS) only for Parquet files: the CLI and a server import this
    # module at start.
    import pyarrow as pa

    from trailkeeper.exports.parquet import ParquetLayoutError, parquet_views

    size = raw.seek(0, io.SEEK_END)
    raw.seek(0)

    def report(fraction: float) -> None:
        if progress is not None:
            progress(int(size * fraction))

    row = 0
    try:
        for view, run_id in parquet_views(raw, report):
            row += 1
            expected = None if view["run"] is None else _get(view["run"], "id")
            if run_id != expected:
                yield Entry(row, view, f"run_id {run_id!r} is not run.id {expected!r}")
            else:
                yield Entry(row, view)
    except ParquetLayoutError as exc:
        raise ExportFormatError(None, str(exc)) from None
    except orjson.JSONDecodeError:
        raise ExportFormatError(row + 1, "a JSON text column does not hold JSON") from None
    except (pa.ArrowException, OSError, ValueError) as exc:  # a damaged or foreign file
        raise ExportFormatError(
            row + 1 if row else None, f"the Parquet file cannot be read ({exc})"
        ) from None
