"""Export writers from raw rows, C against Python: CPU time per row.

    .venv/bin/python -m bench.export_writers [--events 100000] [--repeat 3]

The rows are what a store's ``export_rows`` yields (:mod:`trailkeeper.storage.exportrows`),
made from :func:`bench.export_files.views`. For each format, ``write_export_rows`` into a
sink that discards the bytes, as the process runs it (with the C loops unless
``TRAILKEEPER_NATIVE=0``); then the two JSON-lines writers alone, side by side in the same
run: ``jsonl_block`` in C and :func:`~trailkeeper.exports.jsonlines.jsonl_rows_python`. Run
it twice, with and without ``TRAILKEEPER_NATIVE=0``, to see what a C loop buys."""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from bench.export_files import _Null, views
from trailkeeper import speedups
from trailkeeper.events.timestamps import parse_rfc3339, to_micros
from trailkeeper.exports.files import Format, write_export_rows
from trailkeeper.exports.jsonlines import jsonl_rows_python
from trailkeeper.storage.exportrows import ExportRow

__all__ = ["main"]

BATCH = 2048


def as_row(view: dict[str, Any]) -> ExportRow:
    """The raw row a store reads for ``view`` (plus ``pii_salt``)."""
    actor, resource, run = view["actor"], view["resource"] or {}, view["run"]

    def text(value: str | None) -> bytes | None:
        return None if value is None else value.encode()

    def json(value: Any) -> bytes | None:
        return None if value is None else orjson.dumps(value)

    return (
        view["id"].encode(), view["seq"], view["action"].encode(), view["category"].encode(),
        to_micros(parse_rfc3339(view["occurred_at"])),
        to_micros(parse_rfc3339(view["received_at"])),
        actor["id"].encode(), actor["type"].encode(), text(actor.get("name")),
        text(actor.get("email")), text(resource.get("type")), text(resource.get("id")),
        text(resource.get("name")), view["source"].encode(), text(view["ip"]),
        text(view["user_agent"]), json(view["changes"]), json(run), json(view["metadata"]),
        view["pii"].encode(), view["leaf_hash"].encode(), text(view["pii_salt"]),
        None if run is None else run["id"].encode(),
    )  # fmt: skip


def _cpu_per_row(rows: int, repeat: int, run: Callable[[], object]) -> float:
    """Best CPU time of ``repeat`` runs, in µs per row."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best / rows * 1e6


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export_writers")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = [as_row(view) for view in views(args.events)]
    batches = [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]
    gc.collect()
    gc.freeze()  # the rows live for the whole run: keep the collector off them
    print(f"{len(rows):,} rows; C loops in use: {speedups.LOADED}; CPU µs per row, best of "
          f"{args.repeat}")  # fmt: skip
    formats: tuple[Format, ...] = ("jsonl", "csv", "parquet")
    for fmt in formats:

        def write(f: Format = fmt) -> object:
            return write_export_rows(iter(batches), f, "none", _Null())

        print(f"  write_export_rows {fmt:8} {_cpu_per_row(len(rows), args.repeat, write):6.2f} µs")
    python = _cpu_per_row(len(rows), args.repeat, lambda: [jsonl_rows_python(b) for b in batches])
    print(f"  JSON lines, Python (msgspec) {python:6.2f} µs")
    native = speedups.jsonl_block
    if native is not None:
        c = _cpu_per_row(len(rows), args.repeat, lambda: [native(b) for b in batches])
        print(f"  JSON lines, C                {c:6.2f} µs   Python/C {python / c:4.1f}×")


if __name__ == "__main__":
    main()
