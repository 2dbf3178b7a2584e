"""Export files written straight from raw rows (what export jobs do) are byte for byte the
files written from API views (CONTRACT section 5): on both databases, in every format, for
random events, erased ones too; and the shortcuts the row path takes are checked on their
own: stored JSON text embedded as it is equals parsing and dumping it again, timestamp
columns are the API's text, and the C JSON-lines writer equals the Python one."""

from __future__ import annotations

import gzip
import hashlib
import io
import time
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports_support import FORMATS, erased, ingestible, make_views, names, random_event, texts
from profiles import examples
from support import BASE_TIME, make_event, needs_native
from trailkeeper.events.query import EventQuery
from trailkeeper.events.timestamps import format_micros, parse_rfc3339, to_micros
from trailkeeper.exports.csvfile import _defused
from trailkeeper.exports.files import write_export, write_export_rows
from trailkeeper.exports.jsonlines import jsonl_rows_python
from trailkeeper.exports.parquet import ROW_GROUP_ROWS
from trailkeeper.exports.stamps import stamp_column
from trailkeeper.formats import defuse
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.exportrows import (
    EXPORT_ROW_COLUMNS,
    LEAF_HASH,
    OCCURRED_AT,
    RECEIVED_AT,
    SEQ,
    ExportRow,
)
from trailkeeper.storage.rows import view_from_row

View = dict[str, Any]
scalars = st.one_of(  # any JSON orjson writes: wider than what ingest takes
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(texts, children, max_size=3)
    ),
    max_leaves=8,
)
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(2025, 12, 31))


def events(index: int) -> st.SearchStrategy[dict[str, Any]]:
    return random_event(
        index,
        texts=texts,
        names=names,
        values=ingestible,
        moments=moments,
        stamp=lambda m: m.isoformat() + "Z",
    )


def erase_in_database(service: Trailkeeper, tenant_id: int, seqs: Sequence[int]) -> None:
    """What erasure leaves in a row (CONTRACT section 5): personal data and salt gone."""
    sql = (
        "UPDATE events SET actor_name = NULL, actor_email = NULL, ip = NULL, "
        "user_agent = NULL, pii_salt = NULL WHERE tenant_id = {p} AND seq = {p}"
    )
    store: Any = service.store
    if service.store.backend == "sqlite":
        with store.conns.write() as conn:
            conn.executemany(sql.format(p="?"), [(tenant_id, s) for s in seqs])
    else:
        with store.pool.connection() as conn, conn.cursor() as cursor:
            cursor.executemany(sql.format(p="%s"), [(tenant_id, s) for s in seqs])


def stored_views(service: Trailkeeper, tenant_id: int) -> list[View]:
    """The reference: the API views of the tenant's events, each with its ``pii_salt``."""
    return [
        {**view, "pii_salt": None if salt is None else salt.hex()}
        for view, salt in service.store.scan(tenant_id)
    ]


def from_views(views: Sequence[View], fmt: str, compression: str) -> bytes:
    out = io.BytesIO()
    write_export(iter(views), fmt, compression, out)  # type: ignore[arg-type]
    return out.getvalue()


def from_rows(batches: Any, fmt: str, compression: str) -> bytes:
    out = io.BytesIO()
    write_export_rows(batches, fmt, compression, out)  # type: ignore[arg-type]
    return out.getvalue()


def fast_gzip_lines(batches: Any) -> bytes:
    """The JSON lines of a ``fast_gzip`` file (what retention archives are), checked to be
    one gzip member whose size and hash the summary gives."""
    out = io.BytesIO()
    summary = write_export_rows(batches, "jsonl", "gzip", out, fast_gzip=True)
    data = out.getvalue()
    assert (summary.bytes, summary.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert data[:4] == b"\x1f\x8b\x08\x00"  # deflate, no file name
    assert data[4:8] == bytes(4)  # mtime 0
    lines = gzip.decompress(data)
    decompressor = zlib.decompressobj(31)
    assert decompressor.decompress(data) == lines
    assert decompressor.unused_data == b""  # one member
    return lines


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_rows_from_the_database_write_the_views_bytes(
    service: Trailkeeper, data: st.DataObject
) -> None:
    count = data.draw(st.integers(0, 7), label="count")
    batch_rows = data.draw(st.integers(1, 4), label="batch_rows")
    created = service.tenancy.create_tenant(f"rows-{time.monotonic_ns()}")
    tenant = service.tenancy.authenticate(f"Bearer {created['admin_token']}").tenant
    service.ingest_events(tenant, [data.draw(events(i)) for i in range(count)])
    erase = data.draw(st.lists(st.integers(0, max(count - 1, 0)), max_size=3), label="erase")
    erase_in_database(service, tenant.id, erase if count else [])
    views = stored_views(service, tenant.id)
    batches = list(service.store.export_rows(tenant.id, EventQuery(), batch_rows))
    assert all(0 < len(batch) <= batch_rows for batch in batches)
    rows = [row for batch in batches for row in batch]
    assert [(row[SEQ], row[LEAF_HASH].decode()) for row in rows] == [
        (v["seq"], v["leaf_hash"]) for v in views
    ]
    for fmt, compression in FORMATS:
        assert from_rows(batches, fmt, compression) == from_views(views, fmt, compression)
    assert fast_gzip_lines(batches) == from_views(views, "jsonl", "none")
    assert archive_rows(service, tenant.id, rows, batch_rows) == rows


def archive_rows(
    service: Trailkeeper, tenant_id: int, rows: list[ExportRow], batch_rows: int
) -> list[ExportRow]:
    """The same seqs as retention's archive reads them (its own reader: on PostgreSQL,
    texts selected as they are and loaded as bytes)."""
    if not rows:
        return []
    reader = service.store.row_source().open()  # type: ignore[attr-defined]
    try:
        span = (rows[0][SEQ], rows[-1][SEQ])
        return [row for batch in reader.archive_rows(tenant_id, *span, batch_rows) for row in batch]
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("query", "count"),
    [
        (EventQuery(action=("card.created",)), 3),
        (
            EventQuery(
                start=BASE_TIME + timedelta(minutes=2), end=BASE_TIME + timedelta(minutes=6)
            ),
            5,
        ),
        (EventQuery(actor=("u_1",), start=BASE_TIME + timedelta(minutes=2)), 2),
        (EventQuery(start=BASE_TIME + timedelta(days=1), end=BASE_TIME + timedelta(days=2)), 0),
    ],
)
def test_filters_select_the_rows_the_api_lists(
    service: Trailkeeper, query: EventQuery, count: int
) -> None:
    created = service.tenancy.create_tenant(f"rows-{time.monotonic_ns()}")
    tenant = service.tenancy.authenticate(f"Bearer {created['admin_token']}").tenant
    events = [make_event(i, action="card.moved" if i % 3 else "card.created") for i in range(9)]
    service.ingest_events(tenant, events)
    rows = [row for batch in service.store.export_rows(tenant.id, query, 2) for row in batch]
    listed = service.store.page(tenant.id, query, None, 100)  # newest first
    assert [row[SEQ] for row in rows] == [view["seq"] for view in reversed(listed)]
    assert len(rows) == count


def as_row(view: View) -> ExportRow:
    """The raw row a store returns for ``view`` (as it stores the event)."""
    run = view["run"]
    resource = view["resource"] or {}
    actor = view["actor"]

    def text(value: str | None) -> bytes | None:
        return None if value is None else value.encode()

    def json(value: Any) -> bytes | None:
        return None if value is None else orjson.dumps(value)

    return (
        view["id"].encode(), view["seq"], view["action"].encode(), view["category"].encode(),
        to_micros(parse_rfc3339(view["occurred_at"])),
        to_micros(parse_rfc3339(view["received_at"])),
        actor["id"].encode(), actor["type"].encode(), text(actor["name"]), text(actor["email"]),
        text(resource.get("type")), text(resource.get("id")), text(resource.get("name")),
        view["source"].encode(), text(view["ip"]), text(view["user_agent"]),
        json(view["changes"]), json(run), json(view["metadata"]),
        view["pii"].encode(), view["leaf_hash"].encode(), text(view["pii_salt"]),
        None if run is None else run["id"].encode(),
    )  # fmt: skip


def stored_view(row: ExportRow) -> View:
    """The view (plus ``pii_salt``) the store reads from ``row``."""
    texts = [v.decode() if isinstance(v, bytes) else v for v in row]
    stored = (*texts[:LEAF_HASH], bytes.fromhex(row[LEAF_HASH].decode()))
    return {**view_from_row(stored, format_micros), "pii_salt": texts[LEAF_HASH + 1]}


@pytest.fixture(scope="module")
def many() -> list[View]:
    """More events than a Parquet row group, over a few days, some erased."""
    made = make_views(
        [
            make_event(i, occurred_at=f"2026-11-{10 + i // 7000:02d}T0{i % 10}:00:00.{i:06d}Z")
            for i in range(ROW_GROUP_ROWS + 2_500)
        ]
    )
    return [erased(v) if v["seq"] % 11 == 0 else v for v in made]


@pytest.fixture(scope="module")
def many_rows(many: list[View]) -> list[ExportRow]:
    """The raw rows of ``many`` (tuples: made once, read by every test below)."""
    return [as_row(v) for v in many]


@pytest.fixture(scope="module")
def many_stored(many_rows: list[ExportRow]) -> list[View]:
    """What the store reads from those rows, in its key order, as exports read them (no
    writer changes a view)."""
    return [stored_view(row) for row in many_rows]


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
@pytest.mark.parametrize("batch_rows", [5_000, 777])
def test_many_rows_in_any_batches_write_the_views_bytes(
    many_rows: list[ExportRow],
    many_stored: list[View],
    fmt: str,
    compression: str,
    batch_rows: int,
) -> None:
    rows = many_rows
    batches = [rows[i : i + batch_rows] for i in range(0, len(rows), batch_rows)]
    assert from_rows(iter(batches), fmt, compression) == from_views(many_stored, fmt, compression)


@pytest.mark.parametrize("batch_rows", [5_000, 777])
def test_fast_gzip_holds_the_views_lines(
    many_rows: list[ExportRow], many_stored: list[View], batch_rows: int
) -> None:
    rows = many_rows
    batches = [rows[i : i + batch_rows] for i in range(0, len(rows), batch_rows)]
    assert fast_gzip_lines(iter(batches)) == from_views(many_stored, "jsonl", "none")


def test_rows_out_of_seq_order_are_refused(many: list[View]) -> None:
    rows = [as_row(v) for v in many[:10]]
    with pytest.raises(ValueError, match="ascending seq: 3 after 4"):
        from_rows(iter([rows[:5], [rows[3], *rows[5:]]]), "jsonl", "none")
    with pytest.raises(ValueError, match="ascending seq: 2 after 2"):
        from_rows(iter([[rows[0], rows[1], rows[2], rows[2]]]), "csv", "none")


def test_the_row_layout_positions_name_their_columns() -> None:
    named = {SEQ: "seq", OCCURRED_AT: "occurred_at", RECEIVED_AT: "received_at"}
    assert {i: EXPORT_ROW_COLUMNS[i] for i in named} == named
    assert EXPORT_ROW_COLUMNS[LEAF_HASH] == "leaf_hash"


@settings(max_examples=examples(500), deadline=None)
@given(json_values)
def test_stored_json_text_is_what_parsing_and_dumping_it_again_gives(value: Any) -> None:
    try:
        text = orjson.dumps(value).decode()  # how the store writes the free-form parts
    except orjson.JSONEncodeError:
        return  # not storable (e.g. an integer beyond 64 bits): never in a row
    again = orjson.dumps({"part": orjson.loads(text)})
    assert orjson.dumps({"part": orjson.Fragment(text)}) == again


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.integers(min_value=-62_135_596_800_000_000, max_value=253_402_300_799_999_999),
        max_size=20,
    ).map(lambda values: values + values[:3] + sorted(values))
)
def test_timestamp_columns_are_format_micros(values: list[int]) -> None:
    column = stamp_column(pa.array(values, pa.int64()))
    assert column.to_pylist() == [format_micros(v) for v in values]


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.one_of(st.none(), texts), max_size=8))
def test_csv_columns_are_defused_as_the_download_format_does(values: list[str | None]) -> None:
    column = pa.array(values, pa.string())
    assert _defused(column).to_pylist() == [None if v is None else defuse(v) for v in values]


def native_lines(rows: Sequence[ExportRow]) -> bytes | None:
    """The C writer alone (None where it declines)."""
    from trailkeeper._native import jsonl_block as c_jsonl_block

    return c_jsonl_block(rows)


optional_bytes = st.one_of(st.none(), texts.map(str.encode))
raw_export_rows = st.tuples(
    texts.map(str.encode), st.integers(0, 2**63 - 1), texts.map(str.encode),
    texts.map(str.encode),
    st.integers(min_value=-62_135_596_800_000_000, max_value=253_402_300_799_999_999),
    st.integers(min_value=-62_135_596_800_000_000, max_value=253_402_300_799_999_999),
    texts.map(str.encode), optional_bytes, optional_bytes, optional_bytes,
    optional_bytes, optional_bytes, optional_bytes,
    texts.map(str.encode), optional_bytes, optional_bytes,
    st.one_of(st.none(), json_values.map(orjson.dumps)),
    st.one_of(st.none(), json_values.map(orjson.dumps)),
    st.one_of(st.none(), json_values.map(orjson.dumps)),
    texts.map(str.encode), texts.map(str.encode), optional_bytes, optional_bytes,
)  # fmt: skip


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@needs_native
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(raw_export_rows, max_size=6))
def test_c_json_lines_are_pythons_for_any_rows(rows: list[ExportRow]) -> None:
    """Any texts (escapes, any code point), timestamps of any year, any stored JSON: the C
    writer answers, with the Python writer's bytes."""
    assert native_lines(rows) == jsonl_rows_python(rows)


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(raw_export_rows, max_size=6))
def test_python_json_lines_are_orjsons_views(rows: list[ExportRow]) -> None:
    """The Python writer (C or not) gives each row's view as ``orjson.dumps`` writes it."""
    expected = b"".join(orjson.dumps(dumped_view(row)) + b"\n" for row in rows)
    assert jsonl_rows_python(rows) == expected


def dumped_view(row: ExportRow) -> View:
    """The view (plus ``pii_salt``) of any row, in the API's key order, built by hand."""
    text = [v.decode() if isinstance(v, bytes) else v for v in row]
    json = [None if row[i] is None else orjson.loads(row[i]) for i in (16, 17, 18)]
    resource = dict(zip(("type", "id", "name"), text[10:13], strict=True))
    return {
        "id": text[0], "seq": row[SEQ], "action": text[2], "category": text[3],
        "occurred_at": format_micros(row[OCCURRED_AT]),
        "received_at": format_micros(row[RECEIVED_AT]),
        "actor": dict(zip(("id", "type", "name", "email"), text[6:10], strict=True)),
        "resource": None if row[10] is None else resource,
        "source": text[13], "ip": text[14], "user_agent": text[15],
        "changes": json[0], "run": json[1], "metadata": json[2],
        "pii": text[19], "leaf_hash": text[LEAF_HASH], "pii_salt": text[LEAF_HASH + 1],
    }  # fmt: skip


@needs_native
def test_c_json_lines_decline_rows_python_must_judge(many: list[View]) -> None:
    rows = [as_row(v) for v in many[:3]]
    assert native_lines(rows) == jsonl_rows_python(rows)
    for position, bad in (
        (0, b"\xff\xfe"),  # not UTF-8
        (2, b"\xed\xa0\x80"),  # a surrogate in UTF-8
        (OCCURRED_AT, 253_402_300_800_000_000),  # the year 10000
        (SEQ, 2**64),
        (LEAF_HASH, "text"),  # not bytes
    ):
        changed = [rows[0], (*rows[1][:position], bad, *rows[1][position + 1 :])]
        assert native_lines(changed) is None, position  # type: ignore[arg-type]
    assert native_lines([rows[0][:-1]]) is None  # type: ignore[list-item]
