"""Export files (CONTRACT section 5): every format round-trips every field, the CSV header
and defusing are the contract's, Parquet columns are typed, gzip is real gzip, empty
exports are valid files, and the summary describes the bytes written."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exports_support import FORMATS, erased, make_views, varied_events, written
from support import make_event
from trailkeeper.exports.csvfile import csv_batch
from trailkeeper.exports.files import content_type, file_extension, write_export
from trailkeeper.exports.parquet import ROW_GROUP_ROWS, SCHEMA
from trailkeeper.exports.reading import read_views
from trailkeeper.formats import defuse

CONTRACT_HEADER = (
    "timestamp,user,user_email,actor_id,actor_type,event_type,category,source,ip,"
    "resource_type,resource_id,resource_name,run_id,changes,metadata,id,seq,received_at,"
    "user_agent,run,leaf_hash,pii,pii_salt"
)


@pytest.fixture(scope="module")
def views() -> list[dict]:
    made = make_views(varied_events())
    made[4] = erased(made[4])
    return made


def read_back(data: bytes, fmt: str, compression: str) -> list[dict]:
    return list(read_views(io.BytesIO(data), fmt, compression))


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
def test_every_field_round_trips(views: list[dict], fmt: str, compression: str) -> None:
    assert read_back(written(views, fmt, compression), fmt, compression) == views


def test_jsonl_lines_are_the_api_view_plus_the_salt(views: list[dict]) -> None:
    lines = written(views, "jsonl", "none").split(b"\n")
    assert lines[-1] == b""  # every line, the last too, ends in a newline
    assert [orjson.loads(line) for line in lines[:-1]] == views
    assert lines[0] == orjson.dumps(views[0])
    assert all(b'"pii_salt":' in line for line in lines[:-1])


def test_csv_header_is_the_contracts_and_rows_end_in_crlf(views: list[dict]) -> None:
    data = written(views, "csv", "none")
    assert data.startswith(CONTRACT_HEADER.encode() + b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert len(rows) == 1 + len(views)
    assert all(len(row) == 23 for row in rows)


def cells_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def test_csv_cells_that_look_like_formulas_get_one_quote(views: list[dict]) -> None:
    rows = cells_of(written(views, "csv", "none"))
    assert rows[2]["user"] == '\'=HYPERLINK("x")'
    assert rows[2]["user_email"] == "'+a@b.c"
    assert rows[5]["user"] == "''quoted'"
    assert rows[5]["user_email"] == "'-x"
    assert rows[0]["user"] == "User 0"  # nothing to defuse, nothing added
    assert rows[2]["user_agent"] == 'Mozilla/5.0 "quoted", with commas\nand a newline'


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "'", "\t", "\r", "a", "1", " ", "é", "["])
def test_defusing_follows_the_download_formats_rule(first: str) -> None:
    view = make_views([make_event(0, actor={"id": "u", "name": first + "rest"})])[0]
    batch = csv_batch([view])
    assert batch.column("user")[0].as_py() == defuse(first + "rest")


def test_csv_null_is_an_empty_cell_and_nested_parts_are_json(views: list[dict]) -> None:
    data = written(views, "csv", "none")
    rows = cells_of(data)
    plain = rows[1]  # no resource, changes, metadata, ip
    for name in ("resource_type", "resource_id", "resource_name", "changes", "metadata", "ip"):
        assert plain[name] == ""
    assert orjson.loads(rows[2]["metadata"]) == views[2]["metadata"]
    assert orjson.loads(rows[3]["run"]) == views[3]["run"]
    assert rows[3]["run_id"] == "run_42"
    assert rows[0]["timestamp"] == views[0]["occurred_at"]
    assert rows[0]["event_type"] == "card.moved"
    assert rows[4]["pii_salt"] == ""  # erased
    assert rows[0]["seq"] == "0"


def test_csv_writes_an_empty_string_apart_from_null() -> None:
    view = make_views([make_event(0, actor={"id": "u", "name": "", "email": None})])[0]
    line = written([view], "csv", "none").split(b"\r\n")[1]
    assert line.split(b",")[1:3] == [b'""', b""]  # user "", user_email null


def test_parquet_has_one_typed_column_per_field(views: list[dict]) -> None:
    table = pq.read_table(io.BytesIO(written(views, "parquet", "none")))
    assert table.schema.equals(SCHEMA, check_metadata=True)
    assert table.schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("received_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("seq").type == pa.int64()
    assert table.column("seq").to_pylist() == [v["seq"] for v in views]
    first = table.slice(0, 1).to_pylist()[0]
    assert first["occurred_at"] == datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    assert first["actor_id"] == views[0]["actor"]["id"]
    assert first["resource_name"] == "HR onboarding"
    assert orjson.loads(first["changes"]) == views[0]["changes"]
    assert table.column("run_id").to_pylist()[3] == "run_42"
    assert table.column("pii_salt").to_pylist()[4] is None


def test_parquet_row_groups_are_bounded() -> None:
    many = make_views([make_event(i) for i in range(ROW_GROUP_ROWS + 10)])
    metadata = pq.ParquetFile(io.BytesIO(written(many, "parquet", "none"))).metadata
    assert metadata.num_rows == ROW_GROUP_ROWS + 10
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [
        ROW_GROUP_ROWS,
        10,
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_gzip_is_one_deterministic_gzip_member(views: list[dict], fmt: str) -> None:
    compressed = written(views, fmt, "gzip")
    assert gzip.decompress(compressed) == written(views, fmt, "none")
    assert compressed == written(views, fmt, "gzip")  # same events, same bytes
    assert compressed[4:8] == b"\x00\x00\x00\x00"  # mtime 0


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
def test_an_empty_export_is_a_valid_file(fmt: str, compression: str) -> None:
    out = io.BytesIO()
    summary = write_export(iter([]), fmt, compression, out)  # type: ignore[arg-type]
    data = out.getvalue()
    assert (summary.event_count, summary.first_seq, summary.last_seq) == (0, None, None)
    assert summary.bytes == len(data)
    assert read_back(data, fmt, compression) == []
    plain = gzip.decompress(data) if compression == "gzip" else data
    if fmt == "jsonl":
        assert plain == b""
    elif fmt == "csv":
        assert plain == CONTRACT_HEADER.encode() + b"\r\n"
    else:
        assert pq.read_table(io.BytesIO(data)).num_rows == 0


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
def test_the_summary_describes_the_bytes_written(
    views: list[dict], fmt: str, compression: str
) -> None:
    out = io.BytesIO()
    shifted = make_views(varied_events(), first_seq=40)
    summary = write_export(iter(shifted), fmt, compression, out)  # type: ignore[arg-type]
    data = out.getvalue()
    assert summary.bytes == len(data)
    assert summary.sha256 == hashlib.sha256(data).hexdigest()
    assert (summary.event_count, summary.first_seq, summary.last_seq) == (6, 40, 45)


def test_views_out_of_seq_order_are_refused(views: list[dict]) -> None:
    with pytest.raises(ValueError, match="ascending seq"):
        write_export(iter([views[1], views[0]]), "jsonl", "none", io.BytesIO())


def test_parquet_with_gzip_and_unknown_formats_are_refused(views: list[dict]) -> None:
    with pytest.raises(ValueError, match="compressed inside"):
        write_export(iter(views), "parquet", "gzip", io.BytesIO())
    with pytest.raises(ValueError, match="unknown export format"):
        write_export(iter(views), "xml", "none", io.BytesIO())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown compression"):
        file_extension("csv", "zip")  # type: ignore[arg-type]


def test_names_and_media_types() -> None:
    assert file_extension("jsonl", "none") == ".jsonl"
    assert file_extension("jsonl", "gzip") == ".jsonl.gz"
    assert file_extension("csv", "gzip") == ".csv.gz"
    assert file_extension("parquet", "none") == ".parquet"
    assert content_type("jsonl", "none") == "application/x-ndjson"
    assert content_type("csv", "none") == "text/csv; charset=utf-8"
    assert content_type("csv", "gzip") == "application/gzip"
    assert content_type("parquet", "none") == "application/vnd.apache.parquet"
