"""JSON Lines from Arrow columns: each event's line assembled by Arrow, not by Python.

A line is the API view plus ``pii_salt`` (the keys in the view's order), so it is made of
fixed pieces of text (``{"id":``, ``,"seq":`` ...) and each field's JSON: integers as
decimal digits, the stored free-form parts as the JSON text stored (written by
``orjson.dumps``, which gives that same text again when it re-dumps what it parses), null
as ``null``, and text as a JSON string. A string without ``"``, ``\\`` or a control
character is itself between quotes (orjson, like JSON, escapes nothing else); the few
values that hold one are escaped by orjson itself. Arrow joins the pieces row by row into
one buffer that is the block of lines, ready to write.

``tests/property/test_export_rows.py`` checks with Hypothesis that the lines are those
``orjson.dumps`` gives for the views, for any text.

:func:`jsonl_rows` writes the same lines from the raw rows in C
(:mod:`trailkeeper.speedups`), several times faster than Arrow's passes; for rows it declines
(text that is not UTF-8, say) and without the C module, Arrow writes them. The same tests
check both, and that they agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from trailkeeper import speedups
from trailkeeper.exports.rows import row_columns
from trailkeeper.exports.stamps import stamp_parts
from trailkeeper.storage.exportrows import ExportRow

__all__ = ["json_strings", "jsonl_block", "jsonl_rows"]

_native_block = speedups.jsonl_block

_ESCAPED = '["\\\\\\x00-\\x1f]'
"""What JSON escapes in a string (RE2 syntax): the quote, the backslash, control chars."""
_PLAIN = bytes(b for b in range(256) if b >= 0x20 and b not in b'"\\')
"""Every byte that JSON leaves as it is in a string (UTF-8 sequences included)."""
_STRING = pa.string()


def _any_escaped(column: pa.Array) -> bool:
    """Whether any value may need escaping: one pass over the column's bytes, ten times
    as fast as a regular expression (bytes outside the column's slice may answer yes;
    the exact test per value follows)."""
    data = column.buffers()[2]
    return data is not None and bool(data.to_pybytes().translate(None, _PLAIN))


def json_strings(column: pa.Array, maybe_escaped: bool | None = None) -> pa.Array:
    """Each value of a string column as JSON: a JSON string, or ``null``.
    ``maybe_escaped``: :func:`_any_escaped` of the column, if already known."""
    quoted = pc.binary_join_element_wise('"', column, '"', "")
    if _any_escaped(column) if maybe_escaped is None else maybe_escaped:
        escaped = pc.fill_null(pc.match_substring_regex(column, _ESCAPED), False)
        if pc.any(escaped).as_py():
            values = column.filter(escaped).to_pylist()
            dumped = pa.array([orjson.dumps(v).decode() for v in values], _STRING)
            quoted = pc.replace_with_mask(quoted, escaped, dumped)
    return pc.fill_null(quoted, "null")


class _Text:
    """Pieces of text, row by row: literal text and columns, joined in one step."""

    def __init__(self) -> None:
        self.parts: list[str | pa.Array] = []

    def literal(self, text: str) -> None:
        if self.parts and isinstance(self.parts[-1], str):
            self.parts[-1] += text
        else:
            self.parts.append(text)

    def column(self, *columns: pa.Array) -> None:
        self.parts.extend(columns)

    def string(self, column: pa.Array) -> None:
        """A field's JSON: its text between quotes written here when no value is null or
        needs escaping (most columns, most batches), else :func:`json_strings`."""
        escaped = _any_escaped(column)
        if column.null_count == 0 and not escaped:
            self.literal('"')
            self.column(column)
            self.literal('"')
        else:
            self.column(json_strings(column, escaped))

    def joined(self) -> pa.Array:
        return pc.binary_join_element_wise(*self.parts, "")


def _resource(columns: Mapping[str, pa.Array]) -> pa.Array:
    """The ``resource`` object's JSON, or ``null`` where the event has none."""
    text = _Text()
    text.literal('{"type":')
    text.string(columns["resource_type"])
    text.literal(',"id":')
    text.string(columns["resource_id"])
    text.literal(',"name":')
    text.string(columns["resource_name"])
    text.literal("}")
    objects = text.joined()
    missing = pc.is_null(columns["resource_type"])
    return objects if not pc.any(missing).as_py() else pc.if_else(missing, "null", objects)


def jsonl_rows(rows: Sequence[ExportRow]) -> bytes | pa.Buffer:
    """The lines of a batch of raw rows: from C where it answers, else through Arrow."""
    if _native_block is not None:
        block = _native_block(rows)
        if block is not None:
            return block
    return jsonl_block(row_columns(rows))


def jsonl_block(columns: Mapping[str, pa.Array]) -> pa.Buffer:
    """The lines (each ending in ``\\n``) of a batch's
    :data:`~trailkeeper.exports.columns.COLUMNS`, timestamps as int64 microseconds."""
    text = _Text()
    for key, name in _LINE:
        text.literal(key)
        if name in ("occurred_at", "received_at"):
            text.literal('"')
            text.column(*stamp_parts(columns[name]))
            text.literal('"')
        elif name == "seq":
            text.column(pc.cast(columns[name], _STRING))
        elif name == "resource":
            text.column(_resource(columns))
        elif name in ("changes", "run", "metadata"):  # the JSON text stored
            text.column(pc.fill_null(columns[name], "null"))
        else:
            text.string(columns[name])
    text.literal("}\n")
    lines = text.joined()
    _, offsets, data = lines.buffers()
    if data is None:  # no rows
        return pa.py_buffer(b"")
    ends = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offsets], offset=lines.offset)
    return data[ends[0].as_py() : ends[-1].as_py()]


_LINE = (
    ('{"id":', "id"), (',"seq":', "seq"), (',"action":', "action"),
    (',"category":', "category"), (',"occurred_at":', "occurred_at"),
    (',"received_at":', "received_at"), (',"actor":{"id":', "actor_id"),
    (',"type":', "actor_type"), (',"name":', "actor_name"), (',"email":', "actor_email"),
    ('},"resource":', "resource"), (',"source":', "source"), (',"ip":', "ip"),
    (',"user_agent":', "user_agent"), (',"changes":', "changes"), (',"run":', "run"),
    (',"metadata":', "metadata"), (',"pii":', "pii"), (',"leaf_hash":', "leaf_hash"),
    (',"pii_salt":', "pii_salt"),
)  # fmt: skip
"""Each key of the line (with what precedes it) and the column its value comes from, in
the API view's order."""
