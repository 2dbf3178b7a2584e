"""``trailkeeper verify-export`` on files exported from a real log (CONTRACT sections 5 and 8).

Events go through a real service on SQLite and PostgreSQL, the log is integrated and a real
checkpoint signed; files in every format are written from the stored rows, with manifests
carrying that checkpoint and proofs from the stored tree. The command runs as a subprocess:
an intact file exits 0; each kind of tampering exits 1 naming the right line; unusable input
exits 2. The standalone script of ``docs/verifying-exports.md`` is run too, in a Python that
cannot import trailkeeper."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from exports_support import FORMATS, erased, varied_events
from support import make_event
from trailkeeper.exports.files import file_extension, write_export
from trailkeeper.exports.manifest import (
    MANIFEST_SUFFIX,
    build_manifest,
    encode_manifest,
    proof_entry,
    proof_seqs,
    sign_manifest,
)
from trailkeeper.integrity import Signer
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

EXE = Path(sys.executable).parent / "trailkeeper"
ROOT = Path(__file__).resolve().parents[2]
EVENTS = 40
"""Ingested events; with the admin token's self-audit event the log holds seqs 0..40."""
ERASED_SEQ = 12


@dataclass
class Exported:
    directory: Path
    data_dir: Path
    verifier_key: str
    signer: Signer
    views: list[dict[str, Any]]

    def file(self, fmt: str, compression: str) -> Path:
        return self.directory / f"export{file_extension(fmt, compression)}"  # type: ignore[arg-type]


def export_views(service: Trailkeeper, tenant_id: int) -> list[dict[str, Any]]:
    """What the export worker writes: the stored views with their ``pii_salt``."""
    views = []
    for view, salt in service.store.scan(tenant_id):
        view["pii_salt"] = None if salt is None else salt.hex()
        views.append(erased(view) if view["seq"] == ERASED_SEQ else view)
    return views


@pytest.fixture
def exported(service: Trailkeeper, settings: Settings, tmp_path: Path) -> Exported:
    return export_all(service, settings, tmp_path, [make_event(i) for i in range(EVENTS)])


@pytest.fixture
def awkward(service: Trailkeeper, settings: Settings, tmp_path: Path) -> Exported:
    """Exports of events with awkward values, and with ``""`` where CSV shows an empty cell
    (which null is too)."""
    blank = make_event(6, actor={"id": "u_0", "name": "", "email": ""}, user_agent="")
    blank["resource"] = {"type": "card", "id": "c-1", "name": ""}
    return export_all(service, settings, tmp_path, [*varied_events(), blank])


def export_all(
    service: Trailkeeper, settings: Settings, tmp_path: Path, events: list[dict[str, Any]]
) -> Exported:
    """``events`` ingested into a new tenant (after its admin token's self-audit event, seq 0),
    exported in every format with signed manifests; seq 12, if any, is erased."""
    name = f"x-{uuid.uuid4().hex[:10]}"
    service.tenancy.create_tenant(name)
    tenant = service.tenancy.tenant(name)
    service.ingest_events(tenant, events)
    checkpoint = service.integrity.sync(tenant.id)
    assert checkpoint is not None
    assert checkpoint.size == len(events) + 1
    views = export_views(service, tenant.id)
    directory = tmp_path / "exports"
    directory.mkdir()
    for fmt, compression in FORMATS:
        path = directory / f"export{file_extension(fmt, compression)}"  # type: ignore[arg-type]
        with path.open("wb") as out:
            summary = write_export(iter(views), fmt, compression, out)  # type: ignore[arg-type]
        proofs = [
            proof_entry(
                seq,
                views[seq]["leaf_hash"],
                checkpoint.size,
                service.integrity.inclusion_hashes(tenant.id, seq, checkpoint.size),
            )
            for seq in proof_seqs(summary.first_seq, summary.last_seq)
        ]
        manifest = build_manifest(
            export_id=f"exp_{fmt}_{compression}",
            tenant=name,
            format=fmt,
            compression=compression,
            file=path.name,
            file_sha256=summary.sha256,
            bytes=summary.bytes,
            event_count=summary.event_count,
            first_seq=summary.first_seq,
            last_seq=summary.last_seq,
            start=date(2026, 11, 1),
            end=date(2026, 11, 20),
            resource=None,
            filters={},
            created_at=datetime.now(UTC),
            checkpoint=checkpoint.note,
            proofs=proofs,
        )
        signed = sign_manifest(manifest, service.integrity.signer)
        Path(f"{path}{MANIFEST_SUFFIX}").write_bytes(encode_manifest(signed))
    return Exported(
        directory,
        settings.data_dir,
        service.integrity.verifier_key,
        service.integrity.signer,
        views,
    )


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEPER_")}
    env["COLUMNS"] = "400"  # one line per message, whatever the terminal
    return subprocess.run(
        [str(EXE), "verify-export", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def verify(exported: Exported, path: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return run(path, "--public-key", exported.verifier_key, *extra)


def report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(done.stdout)
    return parsed


def failed_at(done: subprocess.CompletedProcess[str], where: str) -> str:
    """The failure message, after checking exit 1 and that it names ``where``."""
    assert done.returncode == 1, done.stdout + done.stderr
    if done.stdout:  # --json
        found = report(done)
        assert found["ok"] is False
        assert where in found["message"], found
        return str(found["message"])
    assert "FAILED" in done.stderr
    assert where in done.stderr, done.stderr
    return done.stderr


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def replaced(line: bytes, old: bytes, new: bytes) -> bytes:
    assert old in line, line
    return line.replace(old, new)


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
def test_an_intact_export_verifies(exported: Exported, fmt: str, compression: str) -> None:
    done = verify(exported, exported.file(fmt, compression), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    found = report(done)
    assert found["ok"] is True
    assert (found["events"], found["proven"], found["checkpoint_size"]) == (
        EVENTS + 1,
        2,
        EVENTS + 1,
    )


def test_the_deployments_key_is_the_default(exported: Exported) -> None:
    path = exported.file("jsonl", "none")
    done = run(path, "--data-dir", exported.data_dir)
    assert done.returncode == 0, done.stderr
    assert f"OK {path}: intact: {EVENTS + 1} events" in done.stderr


def test_a_key_file_is_accepted(exported: Exported) -> None:
    key_file = exported.directory / "verifier.pub"
    key_file.write_text(exported.verifier_key + "\n")
    assert run(exported.file("csv", "gzip"), "--public-key", key_file).returncode == 0
    at_file = run(exported.file("csv", "gzip"), "--public-key", f"@{key_file}")
    assert at_file.returncode == 0, at_file.stderr
    missing = run(exported.file("csv", "gzip"), "--public-key", f"@{key_file}.missing")
    assert missing.returncode == 2
    assert f"cannot read the key file {key_file}.missing" in " ".join(missing.stderr.split())


def test_a_changed_field_names_its_line(exported: Exported) -> None:
    path = exported.file("jsonl", "none")
    lines = lines_of(path)
    lines[20] = replaced(lines[20], b'"card.moved"', b'"card.deleted"')
    path.write_bytes(b"".join(lines))
    failed_at(verify(exported, path), "line 21 (seq 20): leaf_hash does not match its fields")


def test_changed_personal_data_names_its_line(exported: Exported) -> None:
    path = exported.file("jsonl", "gzip")
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    lines[5] = replaced(lines[5], b"203.0.113.9", b"198.51.100.1")
    path.write_bytes(gzip.compress(b"".join(lines)))
    failed_at(verify(exported, path), "line 6 (seq 5): pii does not match the personal data")


def test_a_deleted_line_is_named(exported: Exported) -> None:
    path = exported.file("jsonl", "none")
    lines = lines_of(path)
    del lines[30]
    path.write_bytes(b"".join(lines))
    message = failed_at(verify(exported, path), "the first gap in seq is at line 31")
    assert f"holds {EVENTS:,} events, the manifest {EVENTS + 1:,} (events were removed)" in message


def test_swapped_lines_are_named(exported: Exported) -> None:
    path = exported.file("jsonl", "none")
    lines = lines_of(path)
    lines[15], lines[16] = lines[16], lines[15]
    path.write_bytes(b"".join(lines))
    done = verify(exported, path, "--json")
    failed_at(done, "line 17 (seq 15): seq 15 follows seq 16 on line 16")
    found = report(done)
    assert (found["ok"], found["line"], found["seq"], found["stage"]) == (False, 17, 15, "file")


def test_an_appended_line_is_named(exported: Exported) -> None:
    path = exported.file("jsonl", "none")
    path.write_bytes(path.read_bytes() + lines_of(path)[3])
    failed_at(verify(exported, path), f"line {EVENTS + 2} (seq 3): seq 3 follows seq {EVENTS}")


def test_a_changed_byte_of_the_manifest_is_caught(exported: Exported) -> None:
    path = exported.file("jsonl", "none")
    manifest = Path(f"{path}{MANIFEST_SUFFIX}")
    text = manifest.read_bytes()
    changed = text.replace(b'"2026-11-20"', b'"2026-11-21"')
    assert changed != text
    manifest.write_bytes(changed)
    failed_at(verify(exported, path), "manifest: the manifest signature does not verify")


def test_the_wrong_key_is_caught(exported: Exported) -> None:
    other = Signer.generate("trailkeeper").verifier().key_string
    done = run(exported.file("parquet", "none"), "--public-key", other)
    failed_at(done, "not by the verifier key")


def test_a_truncated_gzip_file_is_caught(exported: Exported) -> None:
    path = exported.file("csv", "gzip")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    failed_at(verify(exported, path), "the gzip stream ends early: the file was truncated")


def test_a_changed_csv_cell_names_its_line(exported: Exported) -> None:
    path = exported.file("csv", "none")
    lines = lines_of(path)
    lines[9] = replaced(lines[9], b'"User 1"', b'"User 0"')  # seq 8, line 10 after the header
    path.write_bytes(b"".join(lines))
    failed_at(verify(exported, path), "line 10 (seq 8): pii does not match")


def test_a_changed_parquet_value_names_its_row(exported: Exported) -> None:
    path = exported.file("parquet", "none")
    table = pq.read_table(path)
    categories = table.column("category").to_pylist()
    categories[25] = "forged"
    index = table.schema.get_field_index("category")
    pq.write_table(table.set_column(index, "category", [categories]), path)
    failed_at(verify(exported, path), "row 26 (seq 25): leaf_hash does not match its fields")


def test_personal_data_restored_to_an_erased_event_is_caught(exported: Exported) -> None:
    path = exported.file("jsonl", "none")
    lines = lines_of(path)
    assert b'"pii_salt":null' in lines[ERASED_SEQ]
    lines[ERASED_SEQ] = replaced(lines[ERASED_SEQ], b'"name":null', b'"name":"User 0"')
    path.write_bytes(b"".join(lines))
    failed_at(verify(exported, path), f"line {ERASED_SEQ + 1} (seq {ERASED_SEQ}): it has")


@pytest.mark.parametrize(
    "case", ["no manifest", "manifest not json", "bad key", "no file", "no key"]
)
def test_unusable_input_exits_2(exported: Exported, tmp_path: Path, case: str) -> None:
    path = exported.file("jsonl", "none")
    manifest = Path(f"{path}{MANIFEST_SUFFIX}")
    args: list[str | Path] = [path, "--public-key", exported.verifier_key]
    if case == "no manifest":
        manifest.unlink()
    elif case == "manifest not json":
        manifest.write_bytes(manifest.read_bytes()[:-10])
    elif case == "bad key":
        args[2] = "trailkeeper+00000000+AAAA"
    elif case == "no file":
        args[0] = exported.directory / "missing.jsonl"
        args += ["--manifest", manifest]
    else:
        args = [path, "--data-dir", tmp_path / "elsewhere"]
    done = run(*args, "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert report(done)["ok"] is False
    assert "error:" in done.stderr


# The standalone script of docs/verifying-exports.md -------------------------------------


def standalone_script(tmp_path: Path) -> Path:
    doc = (ROOT / "docs" / "verifying-exports.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
    assert len(blocks) == 1
    script = blocks[0]
    assert not re.search(r"^\s*(import|from)\s+trailkeeper", script, re.MULTILINE)
    path = tmp_path / "check_export.py"
    path.write_text(script, encoding="utf-8")
    return path


def run_standalone(script: Path, file: Path, key: str) -> subprocess.CompletedProcess[str]:
    """``python -I`` (no PYTHONPATH, no user site) with trailkeeper made unimportable."""
    bootstrap = (
        "import runpy, sys; sys.modules['trailkeeper'] = None; "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-I", "-c", bootstrap, str(script), str(file),
         f"{file}{MANIFEST_SUFFIX}", key],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
def test_the_standalone_script_checks_an_intact_file(
    exported: Exported, tmp_path: Path, fmt: str, compression: str
) -> None:
    script = standalone_script(tmp_path)
    done = run_standalone(script, exported.file(fmt, compression), exported.verifier_key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"OK: {EVENTS + 1} events intact" in done.stdout


@pytest.mark.parametrize(("fmt", "compression"), FORMATS)
def test_the_standalone_script_reads_awkward_values(
    awkward: Exported, tmp_path: Path, fmt: str, compression: str
) -> None:
    """Formula-like text, quotes, newlines, non-ASCII, nesting, a run, and ``""`` that a CSV
    reader sees as null: every format's events recompute to their leaf hashes."""
    script = standalone_script(tmp_path)
    done = run_standalone(script, awkward.file(fmt, compression), awkward.verifier_key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"OK: {len(awkward.views)} events intact" in done.stdout


def test_the_standalone_script_catches_tampering(exported: Exported, tmp_path: Path) -> None:
    script = standalone_script(tmp_path)
    path = exported.file("jsonl", "none")
    lines = lines_of(path)
    lines[7] = replaced(lines[7], b'"card.moved"', b'"card.deleted"')
    path.write_bytes(b"".join(lines))
    done = run_standalone(script, path, exported.verifier_key)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED: the file's size or SHA-256 differs" in done.stdout
    other = Signer.generate("trailkeeper").verifier().key_string
    done = run_standalone(script, exported.file("jsonl", "gzip"), other)
    assert done.returncode == 1
    assert "FAILED: the manifest is not signed by the verifier key" in done.stdout


@pytest.mark.parametrize(("fmt", "header", "unit"), [("jsonl", 0, "line"), ("csv", 1, "row")])
def test_the_standalone_script_names_the_bad_line(
    exported: Exported, tmp_path: Path, fmt: str, header: int, unit: str
) -> None:
    """With the manifest re-signed over the changed file (as someone holding the key could),
    the script's own recomputation of ``pii`` and ``leaf_hash`` names the line (JSONL) or
    row (CSV, whose first line is the header)."""
    script = standalone_script(tmp_path)
    path = exported.file(fmt, "none")
    for seq, old, new, problem in [
        (3, b'"User 2"', b'"Mallory"', "pii does not match the personal data"),
        (9, b'"card.moved"', b'"card.deleted"', "leaf_hash does not match its fields"),
    ]:
        lines = lines_of(path)
        index = seq + header
        lines[index] = replaced(lines[index], old, new)
        path.write_bytes(b"".join(lines))
        resign(exported, path)
        done = run_standalone(script, path, exported.verifier_key)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"FAILED: {unit} {seq + 1} (seq {seq}): {problem}" in done.stdout
        lines[index] = replaced(lines[index], new, old)
        path.write_bytes(b"".join(lines))
        resign(exported, path)


def resign(exported: Exported, path: Path) -> None:
    manifest_path = Path(f"{path}{MANIFEST_SUFFIX}")
    manifest = orjson.loads(manifest_path.read_bytes())
    data = path.read_bytes()
    manifest.update(bytes=len(data), file_sha256=hashlib.sha256(data).hexdigest())
    manifest_path.write_bytes(encode_manifest(sign_manifest(manifest, exported.signer)))
