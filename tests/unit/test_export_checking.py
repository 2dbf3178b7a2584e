"""The offline export checker and the manifest, against a log held in memory: intact files
pass in every format, and each kind of tampering is named at the right place."""

from __future__ import annotations

import copy
import gzip
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from exports_support import FORMATS, FakeLog, erased, make_views, varied_events, write_file
from support import make_event
from trailkeeper.exports.checking import ExportCheck, event_problem, verify_export
from trailkeeper.exports.manifest import (
    build_manifest,
    encode_manifest,
    key_label,
    load_manifest,
    manifest_signature_problem,
    sign_manifest,
    signing_bytes,
)
from trailkeeper.integrity import Signer

COUNT = 30


@pytest.fixture
def log() -> FakeLog:
    return FakeLog()


@pytest.fixture
def views(log: FakeLog) -> list[dict[str, Any]]:
    made = make_views([make_event(i) for i in range(COUNT)])
    made[7] = erased(made[7])
    log.append(made)
    return made


def check(log: FakeLog, path: Path, manifest: dict[str, Any]) -> ExportCheck:
    return verify_export(path, manifest, log.signer.verifier())


def export(
    tmp_path: Path,
    log: FakeLog,
    views: list[dict[str, Any]],
    fmt: str = "jsonl",
    comp: str = "none",
) -> tuple[Path, dict[str, Any]]:
    path, summary = write_file(tmp_path, views, fmt, comp)
    return path, log.manifest(path.name, fmt, comp, summary)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def failed(result: ExportCheck) -> ExportCheck:
    assert not result.ok, result
    return result


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
def test_an_intact_file_verifies(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]], fmt: str, compression: str
) -> None:
    path, manifest = export(tmp_path, log, views[3:25], fmt, compression)
    result = check(log, path, load_manifest(encode_manifest(manifest)))
    assert result.ok, result.message
    assert (result.events, result.proven, result.checkpoint_size) == (22, 2, COUNT)


def test_an_empty_export_of_an_empty_log_verifies(tmp_path: Path) -> None:
    log = FakeLog()
    path, manifest = export(tmp_path, log, [])
    assert manifest["checkpoint"] is None
    assert check(log, path, manifest).ok


def test_progress_covers_both_passes(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    seen: list[tuple[int, int]] = []
    assert verify_export(path, manifest, log.signer.verifier(), lambda d, t: seen.append((d, t)))
    size = path.stat().st_size
    assert seen[-1] == (2 * size, 2 * size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_changed_field_names_its_line(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    lines = lines_of(path)
    lines[4] = lines[4].replace(b'"card.moved"', b'"card.deleted"')
    path.write_bytes(b"".join(lines))
    result = failed(check(log, path, manifest))
    assert (result.stage, result.where, result.seq) == ("file", 5, 4)
    assert "line 5 (seq 4): leaf_hash does not match its fields (altered)" in result.message
    assert "changed after export" in result.message


def test_changed_personal_data_names_its_line(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    lines = lines_of(path)
    lines[11] = lines[11].replace(b'"User 2"', b'"Someone Else"')
    path.write_bytes(b"".join(lines))
    result = failed(check(log, path, manifest))
    assert (result.where, result.seq) == (12, 11)
    assert "pii does not match the personal data" in result.message


def test_personal_data_added_to_an_erased_event_is_caught(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    lines = lines_of(path)
    lines[7] = lines[7].replace(b'"ip":null', b'"ip":"198.51.100.7"')
    path.write_bytes(b"".join(lines))
    result = failed(check(log, path, manifest))
    assert (result.where, result.seq) == (8, 7)
    assert "personal data but no pii_salt" in result.message


def test_an_event_rehashed_after_a_change_is_caught_by_its_proof(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    """A first event changed *and* rehashed passes its own checks, even with a manifest
    re-signed by someone holding the key; the checkpoint's inclusion proof still tells."""
    forged = make_views([make_event(0, action="user.deleted")])[0]
    path, manifest = export(tmp_path, log, [forged, *views[1:]])
    result = failed(check(log, path, manifest))
    assert (result.stage, result.where, result.seq) == ("events", 1, 0)
    assert "not the one the signed checkpoint holds at seq 0" in result.message


def test_a_deleted_line_is_located_by_the_gap_it_leaves(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    lines = lines_of(path)
    del lines[9]
    path.write_bytes(b"".join(lines))
    result = failed(check(log, path, manifest))
    assert (result.stage, result.where, result.seq) == ("file", 10, 10)
    assert "holds 29 events, the manifest 30 (events were removed)" in result.message
    assert "first gap in seq is at line 10, where seq 10 follows 8" in result.message


def test_swapped_lines_are_caught_where_the_order_breaks(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    lines = lines_of(path)
    lines[9], lines[10] = lines[10], lines[9]
    path.write_bytes(b"".join(lines))
    result = failed(check(log, path, manifest))
    assert (result.where, result.seq) == (11, 9)
    assert "seq 9 follows seq 10 on line 10 (events were reordered" in result.message


def test_an_appended_line_is_caught(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views[:20])
    path.write_bytes(path.read_bytes() + orjson.dumps(views[20]) + b"\n")
    result = failed(check(log, path, manifest))
    assert (result.where, result.seq) == (21, 20)
    assert "seq 20 is outside the manifest's 0..19 (an event was added)" in result.message


def test_removing_the_last_lines_is_caught(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    path.write_bytes(b"".join(lines_of(path)[:-2]))
    result = failed(check(log, path, manifest))
    assert result.where == 29
    assert "ends at seq 27, the manifest's last_seq is 29" in result.message


def test_a_truncated_gzip_file_is_caught(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views, "jsonl", "gzip")
    path.write_bytes(path.read_bytes()[:-20])
    result = failed(check(log, path, manifest))
    assert result.stage == "file"
    assert "the gzip stream ends early: the file was truncated" in result.message


def test_a_changed_csv_cell_names_its_line(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views, "csv", "none")
    lines = lines_of(path)
    assert lines[0].startswith(b"timestamp,")
    lines[6] = lines[6].replace(b'"card.moved"', b'"card.deleted"')  # seq 5, after the header
    path.write_bytes(b"".join(lines))
    result = failed(check(log, path, manifest))
    assert (result.where, result.seq) == (7, 5)
    assert "line 7 (seq 5): leaf_hash does not match" in result.message


def test_a_csv_with_multiline_cells_names_physical_lines(tmp_path: Path) -> None:
    log = FakeLog()
    views = make_views(varied_events())  # event 2 has a newline in its user agent
    log.append(views)
    path, manifest = export(tmp_path, log, views, "csv", "none")
    text = path.read_bytes()
    path.write_bytes(text.replace(b'"flow.step.finished"', b'"flow.step.failed"'))
    result = failed(check(log, path, manifest))
    assert (result.where, result.seq) == (6, 3)  # header, 0, 1, 2 (two lines), then 3


def test_a_changed_parquet_value_names_its_row(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views, "parquet", "none")
    table = pq.read_table(path)
    actions = table.column("action").to_pylist()
    actions[12] = "card.deleted"
    table = table.set_column(table.schema.get_field_index("action"), "action", [actions])
    pq.write_table(table, path)
    result = failed(check(log, path, manifest))
    assert (result.unit, result.where, result.seq) == ("row", 13, 12)
    assert "row 13 (seq 12): leaf_hash does not match" in result.message


def test_a_csv_empty_string_is_not_mistaken_for_tampering(tmp_path: Path) -> None:
    log = FakeLog()
    views = make_views(
        [
            make_event(0, actor={"id": "u", "name": "", "email": ""}, user_agent=""),
            make_event(1, resource={"type": "pipe", "id": "p", "name": ""}),
        ]
    )
    log.append(views)
    path, manifest = export(tmp_path, log, views, "csv", "gzip")
    assert check(log, path, manifest).ok


def test_a_changed_manifest_fails_its_signature(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    changed = copy.deepcopy(manifest)
    changed["window"]["end"] = "2026-11-21"
    result = failed(check(log, path, changed))
    assert result.stage == "manifest"
    assert "signature does not verify" in result.message


def test_the_wrong_key_is_named(tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]) -> None:
    path, manifest = export(tmp_path, log, views)
    other = Signer.generate("trailkeeper.test").verifier()
    result = failed(verify_export(path, manifest, other))
    assert result.stage == "manifest"
    assert f"signed by key {key_label(log.signer)!r}, not by the verifier key" in result.message


def test_a_checkpoint_for_another_tenant_is_refused(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, summary = write_file(tmp_path, views, "jsonl", "none")
    note = log.checkpoint()
    log.tenant = "other"
    manifest = log.manifest(path.name, "jsonl", "none", summary)
    manifest["checkpoint"] = note  # acme's checkpoint in other's manifest, re-signed
    result = failed(check(log, path, sign_manifest(manifest, log.signer)))
    assert result.stage == "checkpoint"
    assert "expected 'trailkeeper/other'" in result.message


def test_a_checkpoint_too_small_for_the_file_is_refused(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]
) -> None:
    path, manifest = export(tmp_path, log, views)
    short = FakeLog(signer=log.signer)
    short.append(views[:10])
    manifest = {**manifest, "checkpoint": short.checkpoint(), "proofs": []}
    result = failed(check(log, path, sign_manifest(manifest, log.signer)))
    assert result.stage == "checkpoint"
    assert "tree has 10 events, so it cannot hold seq 29" in result.message


def test_the_signature_covers_the_jcs_bytes_without_the_signature(
    log: FakeLog, tmp_path: Path, views: list[dict[str, Any]]
) -> None:
    _, manifest = export(tmp_path, log, views)
    assert manifest["key"] == f"trailkeeper.test+{log.signer.key_id:08x}"
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    assert signing_bytes(manifest) == signing_bytes(unsigned)
    assert manifest_signature_problem(manifest, log.signer.verifier()) is None
    reordered = dict(reversed(list(manifest.items())))  # key order does not matter in JCS
    assert manifest_signature_problem(reordered, log.signer.verifier()) is None


def test_build_manifest_refuses_inconsistent_figures() -> None:
    fields: dict[str, Any] = {
        "export_id": "e",
        "tenant": "t",
        "format": "jsonl",
        "compression": "none",
        "file": "f.jsonl",
        "file_sha256": "0" * 64,
        "bytes": 10,
        "event_count": 2,
        "first_seq": 5,
        "last_seq": 6,
        "start": date(2026, 1, 1),
        "end": date(2026, 1, 2),
        "resource": None,
        "filters": {},
        "created_at": datetime(2026, 1, 3, tzinfo=UTC),
        "checkpoint": None,
        "proofs": [],
    }
    with pytest.raises(ValueError, match="must carry a checkpoint"):
        build_manifest(**fields)
    with pytest.raises(ValueError, match="cannot have seqs"):
        build_manifest(**{**fields, "event_count": 3, "checkpoint": "x"})
    with pytest.raises(ValueError, match="compression none"):
        build_manifest(**{**fields, "format": "parquet", "compression": "gzip"})


def test_event_problem_explains_each_fault() -> None:
    view = make_views([make_event(0)])[0]
    assert event_problem(view) == (bytes.fromhex(view["leaf_hash"]), None)
    assert event_problem({**view, "pii_salt": "zz"})[1] == "pii_salt is not 32 lowercase hex digits"
    assert "malformed (missing field 'actor')" in str(
        event_problem({k: v for k, v in view.items() if k != "actor"})[1]
    )
    assert event_problem(erased(view))[1] is None
    assert event_problem({**view, "leaf_hash": "00" * 32})[1] == (
        "leaf_hash does not match its fields (altered)"
    )


def test_gzip_member_is_real(tmp_path: Path, log: FakeLog, views: list[dict[str, Any]]) -> None:
    path, _ = export(tmp_path, log, views, "jsonl", "gzip")
    assert gzip.decompress(path.read_bytes()).count(b"\n") == COUNT


@pytest.mark.parametrize(
    ("fmt", "damage", "expected"),
    [
        (
            "jsonl",
            lambda d: d.replace(b"\n", b"\nnot json\n", 1),
            "line 2: the line is not valid JSON",
        ),
        ("jsonl", lambda d: d[:-1], "line 30: the line does not end with a newline"),
        ("csv", lambda d: d.replace(b"timestamp,", b"time,", 1), "line 1: the first line is not"),
        (
            "csv",
            lambda d: d.replace(b'"card.moved",', b"", 1),
            "line 2: the row has 22 cells, the header 23",
        ),
        ("parquet", lambda d: b"PAR1" + d[100:], "the Parquet file cannot be read"),
    ],
)
def test_an_unreadable_file_is_named_where_it_breaks(
    tmp_path: Path, log: FakeLog, views: list[dict[str, Any]], fmt: str, damage: Any, expected: str
) -> None:
    path, manifest = export(tmp_path, log, views, fmt, "none")
    path.write_bytes(damage(path.read_bytes()))
    result = failed(check(log, path, manifest))
    assert result.stage == "file"
    assert expected in result.message
