"""Export file speed: events/s per format, writing and (with ``--check``) verifying.

    .venv/bin/python -m bench.export_files [--events 200000] [--repeat 3] [--check]

Views are made once (ingest validation and hashing, as the store would hold them), then each
format is written to a sink that discards the bytes; the figure is events per second of
writing alone. ``--check`` also writes each file to a temporary directory and times
``verify_export`` over it (both passes: the hash and every event)."""

from __future__ import annotations

import argparse
import gc
import io
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.data import make_corpus
from trailkeeper.events.batch import drafts_from_body
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.exports.checking import verify_export
from trailkeeper.exports.files import write_export
from trailkeeper.exports.manifest import build_manifest, proof_entry, proof_seqs, sign_manifest
from trailkeeper.integrity import (
    Checkpoint,
    Signer,
    inclusion_proof,
    origin_for_tenant,
    root_from_leaf_hashes,
    sign_checkpoint,
)

__all__ = ["main"]

CASES = (
    ("jsonl", "none"),
    ("jsonl", "gzip"),
    ("csv", "none"),
    ("csv", "gzip"),
    ("parquet", "none"),
)
View = dict[str, Any]


class _Null(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return memoryview(data).nbytes


def views(count: int) -> list[View]:
    corpus = make_corpus(count)
    received = format_timestamp(datetime.now(UTC))
    made: list[View] = []
    for body in corpus.bodies:
        for draft in drafts_from_body(body):
            view = draft.sequenced(len(made), received)
            view["pii_salt"] = draft.pii_salt
            made.append(view)
    return made


def _best(repeat: int, run: Any) -> tuple[float, float, Any]:
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return min(wall), min(cpu), result


def _check(data: list[View], fmt: str, compression: str, repeat: int) -> str:
    signer = Signer.generate("bench")
    leaves = [bytes.fromhex(v["leaf_hash"]) for v in data]
    checkpoint = Checkpoint(origin_for_tenant("bench"), len(leaves), root_from_leaf_hashes(leaves))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"export.{fmt}"
        with path.open("wb") as out:
            summary = write_export(iter(data), fmt, compression, out)  # type: ignore[arg-type]
        proofs = [
            proof_entry(s, leaves[s].hex(), len(leaves), inclusion_proof(s, leaves))
            for s in proof_seqs(summary.first_seq, summary.last_seq)
        ]
        manifest = sign_manifest(
            build_manifest(
                export_id="bench", tenant="bench", format=fmt, compression=compression,
                file=path.name, file_sha256=summary.sha256, bytes=summary.bytes,
                event_count=summary.event_count, first_seq=summary.first_seq,
                last_seq=summary.last_seq, start=datetime.now(UTC).date(),
                end=datetime.now(UTC).date(), resource=None, filters={},
                created_at=datetime.now(UTC), checkpoint=sign_checkpoint(checkpoint, signer),
                proofs=proofs,
            ),
            signer,
        )  # fmt: skip
        wall, _, result = _best(repeat, lambda: verify_export(path, manifest, signer.verifier()))
    assert result.ok, result.message
    return f"   verify {len(data) / wall:>9,.0f} events/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="also time verify_export")
    args = parser.parse_args()
    data = views(args.events)
    # The views stand for rows streamed from the database, which die young: keep the
    # garbage collector from re-scanning the whole list on every collection.
    gc.collect()
    gc.freeze()
    print(f"{len(data):,} events; best of {args.repeat} runs (wall clock, and CPU time)")
    for fmt, compression in CASES:
        wall, cpu, summary = _best(
            args.repeat,
            lambda f=fmt, c=compression: write_export(iter(data), f, c, _Null()),  # type: ignore[arg-type]
        )
        count = summary.event_count
        line = (
            f"{fmt:8} {compression:5} write {count / wall:>9,.0f} events/s "
            f"({count / cpu:>9,.0f} by CPU time)  {summary.bytes / count:6.1f} bytes/event"
        )
        if args.check:
            line += _check(data, fmt, compression, 1)
        print(line, flush=True)


if __name__ == "__main__":
    main()
