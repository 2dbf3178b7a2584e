"""Random events written in every format and read back through the checker recompute the
same leaf hashes and ``pii`` (CONTRACT sections 5 and 8): no format loses or bends a value
that the hashes cover, whatever the text (formula-like starts, quotes, separators, newlines,
any Unicode) or the JSON inside (floats, nesting, empty containers)."""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports_support import (
    FORMATS,
    FakeLog,
    erased,
    ingestible,
    make_views,
    names,
    random_event,
    texts,
    write_file,
)
from profiles import examples
from trailkeeper.exports.checking import entry_problem, verify_export
from trailkeeper.exports.reading import BLANKABLE, read_entries

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC)
)


def events(index: int) -> st.SearchStrategy[dict[str, Any]]:
    return random_event(index, texts=texts, names=names, values=ingestible, moments=moments)


@st.composite
def exports(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str, str]:
    count = draw(st.integers(0, 6))
    made = make_views([draw(events(i)) for i in range(count)])
    views = [erased(v) if draw(st.booleans()) and v["pii_salt"] else v for v in made]
    fmt, compression = draw(st.sampled_from(FORMATS))
    return views, fmt, compression


def blanked(view: dict[str, Any]) -> dict[str, Any]:
    """What a CSV reader sees: ``""`` in the fields that may hold it reads as null."""
    view = {**view, "actor": dict(view["actor"])}
    if view["resource"] is not None:
        view["resource"] = dict(view["resource"])
    for name in BLANKABLE:
        part, _, key = name.rpartition(".")
        holder = view[part] if part else view
        if holder is not None and holder.get(key) == "":
            holder[key] = None
    return view


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports())
def test_written_events_recompute_the_same_leaves(
    export: tuple[list[dict[str, Any]], str, str],
) -> None:
    views, fmt, compression = export
    log = FakeLog()
    log.append(views)
    with tempfile.TemporaryDirectory() as directory:
        path, summary = write_file(Path(directory), views, fmt, compression)
        entries = list(read_entries(io.BytesIO(path.read_bytes()), fmt, compression))
        assert [entry_problem(e) for e in entries] == [
            (bytes.fromhex(v["leaf_hash"]), None) for v in views
        ]
        expected = [blanked(v) for v in views] if fmt == "csv" else views
        assert [e.view for e in entries] == expected
        result = verify_export(
            path, log.manifest(path.name, fmt, compression, summary), log.signer.verifier()
        )
        assert result.ok, result.message
        assert result.events == len(views)
