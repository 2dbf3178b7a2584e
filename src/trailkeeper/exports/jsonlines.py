"""JSON Lines from raw rows: the one writer of an export's (and a stream's) event lines.

A line is the API view plus ``pii_salt``, keys in the view's order, written as
``orjson.dumps`` writes the view: texts as JSON strings, timestamps as the API's text, and
the stored free-form parts (``changes``, ``run``, ``metadata``) as the JSON text stored
(written by ``orjson.dumps``, which gives that same text again when it re-dumps what it
parses). :func:`jsonl_rows_python` is the reference: one msgspec ``Struct`` per row, the
stored JSON embedded as :class:`msgspec.Raw`, encoded by msgspec (which escapes strings as
orjson does). The same loop in C (:mod:`trailkeeper.speedups`, ``jsonl_block``) answers
first, several times faster (figures in ``docs/benchmarks.md``); for rows it declines (text
that is not UTF-8, say) and without the C module, the reference writes them.

``tests/property/test_export_rows.py`` checks with Hypothesis that both give the bytes
``orjson.dumps`` gives for the views, for any text and any stored JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from trailkeeper import speedups
from trailkeeper.events.timestamps import format_micros
from trailkeeper.storage.exportrows import ExportRow

__all__ = ["jsonl_rows", "jsonl_rows_python"]

_native_block = speedups.jsonl_block
_ENCODER = msgspec.json.Encoder()
_Raw = msgspec.Raw


class _Actor(msgspec.Struct, gc=False):
    id: str | None
    type: str | None
    name: str | None
    email: str | None


class _Resource(msgspec.Struct, gc=False):
    type: str | None
    id: str | None
    name: str | None


class _Line(msgspec.Struct, gc=False):
    """An export line: the API view's fields in its order, then ``pii_salt`` (any text may
    be null here, as in the C writer; the database's constraints keep most from being)."""

    id: str | None
    seq: int
    action: str | None
    category: str | None
    occurred_at: str
    received_at: str
    actor: _Actor
    resource: _Resource | None
    source: str | None
    ip: str | None
    user_agent: str | None
    changes: msgspec.Raw | None
    run: msgspec.Raw | None
    metadata: msgspec.Raw | None
    pii: str | None
    leaf_hash: str | None
    pii_salt: str | None


def jsonl_rows(rows: Sequence[ExportRow]) -> bytes:
    """The lines (each ending in ``\\n``) of a batch of raw rows: from C where it answers,
    else from :func:`jsonl_rows_python`."""
    if _native_block is not None:
        block = _native_block(rows)
        if block is not None:
            return block
    return jsonl_rows_python(rows)


def jsonl_rows_python(rows: Sequence[ExportRow]) -> bytes:
    """:func:`jsonl_rows` in Python. Raises UnicodeDecodeError for a text that is not
    UTF-8 (no database returns one)."""
    return _ENCODER.encode_lines([_line(row) for row in rows])


def _line(row: ExportRow) -> _Line:
    (
        id_, seq, action, category, occurred, received, actor_id, actor_type, name, email,
        resource_type, resource_id, resource_name, source, ip, agent, changes, run, metadata,
        pii, leaf_hash, salt, _run_id,
    ) = row  # fmt: skip
    return _Line(
        _text(id_), seq, _text(action), _text(category),
        format_micros(occurred), format_micros(received),
        _Actor(_text(actor_id), _text(actor_type), _text(name), _text(email)),
        None if resource_type is None
        else _Resource(resource_type.decode(), _text(resource_id), _text(resource_name)),
        _text(source), _text(ip), _text(agent),
        None if changes is None else _Raw(changes),
        None if run is None else _Raw(run),
        None if metadata is None else _Raw(metadata),
        _text(pii), _text(leaf_hash), _text(salt),
    )  # fmt: skip


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()
