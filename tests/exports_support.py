"""Helpers for export tests: genuine views without a database, and a signed log over them.

Views are made the way the store makes them (validation, normalization, ``pii`` and
``leaf_hash``), so a file written from them verifies exactly as a real export would."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from support import make_event
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.exports.files import FileSummary, write_export
from trailkeeper.exports.manifest import build_manifest, proof_entry, proof_seqs, sign_manifest
from trailkeeper.integrity import (
    Checkpoint,
    Signer,
    inclusion_proof,
    origin_for_tenant,
    root_from_leaf_hashes,
    sign_checkpoint,
)

View = dict[str, Any]
RECEIVED_AT = "2026-11-21T08:00:00.000000Z"
FORMATS = [
    ("jsonl", "none"),
    ("jsonl", "gzip"),
    ("csv", "none"),
    ("csv", "gzip"),
    ("parquet", "none"),
]


def make_views(events: Sequence[dict[str, Any]], first_seq: int = 0) -> list[View]:
    """Stored views (plus ``pii_salt``) of ``events`` at seqs from ``first_seq``."""
    views = []
    for offset, draft in enumerate(drafts_from_events(list(events))):
        view = draft.sequenced(first_seq + offset, RECEIVED_AT)
        view["pii_salt"] = draft.pii_salt
        views.append(view)
    return views


def erased(view: View) -> View:
    """The view after the actor's personal data was erased: values and salt gone, hashes kept."""
    view = {**view, "actor": {**view["actor"], "name": None, "email": None}}
    view.update(ip=None, user_agent=None, pii_salt=None)
    return view


def varied_events() -> list[dict[str, Any]]:
    """Events that exercise every field and the awkward values: formula-like text, quotes,
    commas, newlines, non-ASCII, missing parts, a workflow run, floats and nesting."""
    return [
        make_event(0),
        make_event(1, resource=None, changes=None, metadata=None, ip=None),
        make_event(
            2,
            actor={"id": "u_9", "type": "agent", "name": '=HYPERLINK("x")', "email": "+a@b.c"},
            user_agent='Mozilla/5.0 "quoted", with commas\nand a newline',
            metadata={"note": "-1", "nested": {"list": [1, 2.5, None, True]}, "ü": "日本"},
        ),
        make_event(
            3,
            action="flow.step.finished",
            run={
                "id": "run_42",
                "flow": "SLA escalation",
                "step": "send_email",
                "status": "succeeded",
                "input": {"to": "@team"},
                "output": {},
                "duration_ms": 120,
            },
            resource={"type": "flow", "id": "f-1"},
        ),
        make_event(
            4,
            actor={"id": "svc", "type": "service_account"},
            source="api",
            ip="2001:db8::1",
            changes=[{"field": "phase", "old": None, "new": {"deep": ["'x", "\tindent"]}}],
        ),
        make_event(5, category="custom", actor={"id": "u_1", "name": "'quoted'", "email": "-x"}),
    ]


@dataclass
class FakeLog:
    """A tenant's log held in memory: leaf hashes, a signed checkpoint, proofs."""

    tenant: str = "acme"
    signer: Signer = field(default_factory=lambda: Signer.generate("trailkeeper.test"))
    leaves: list[bytes] = field(default_factory=list)

    def append(self, views: Sequence[View]) -> None:
        assert all(v["seq"] == len(self.leaves) + i for i, v in enumerate(views))
        self.leaves.extend(bytes.fromhex(v["leaf_hash"]) for v in views)

    def checkpoint(self) -> str:
        body = Checkpoint(
            origin_for_tenant(self.tenant), len(self.leaves), root_from_leaf_hashes(self.leaves)
        )
        return sign_checkpoint(body, self.signer)

    def manifest(
        self, name: str, fmt: str, compression: str, summary: FileSummary
    ) -> dict[str, Any]:
        """The signed manifest of a file written from this log's events."""
        empty = not self.leaves
        proofs = [
            proof_entry(
                seq, self.leaves[seq].hex(), len(self.leaves), inclusion_proof(seq, self.leaves)
            )
            for seq in proof_seqs(summary.first_seq, summary.last_seq)
        ]
        manifest = build_manifest(
            export_id="exp_test",
            tenant=self.tenant,
            format=fmt,
            compression=compression,
            file=name,
            file_sha256=summary.sha256,
            bytes=summary.bytes,
            event_count=summary.event_count,
            first_seq=summary.first_seq,
            last_seq=summary.last_seq,
            start=date(2026, 11, 1),
            end=date(2026, 11, 20),
            resource=None,
            filters={},
            created_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
            checkpoint=None if empty else self.checkpoint(),
            proofs=proofs,
        )
        return sign_manifest(manifest, self.signer)


def write_file(
    directory: Path, views: Sequence[View], fmt: str, compression: str
) -> tuple[Path, FileSummary]:
    suffix = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}[fmt]
    path = directory / f"export{suffix}{'.gz' if compression == 'gzip' else ''}"
    with path.open("wb") as out:
        summary = write_export(iter(views), fmt, compression, out)  # type: ignore[arg-type]
    return path, summary


def written(views: Sequence[View], fmt: str, compression: str) -> bytes:
    out = io.BytesIO()
    write_export(iter(views), fmt, compression, out)  # type: ignore[arg-type]
    return out.getvalue()


SAFE = 2**53 - 1
characters = st.one_of(  # NUL is refused at ingest
    st.characters(codec="utf-8", exclude_characters="\x00"),
    st.sampled_from("=+-@'\t\r\n\x1f\x7f,\"\\; é日\U0001f600\u2028"),
)
"""Any text ingest takes, with formula starts, quotes, separators and escapes favoured."""
texts = st.text(characters, max_size=10)
names = st.text(characters, min_size=1, max_size=10)
ingestible = st.recursive(  # what ingest takes: floats, and integers a float can hold
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-SAFE, max_value=SAFE),
        st.floats(allow_nan=False, allow_infinity=False).filter(
            lambda f: not (f.is_integer() and abs(f) >= 2**63)
        ),
        texts,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(texts, children, max_size=3)
    ),
    max_leaves=8,
)
"""JSON values ingest accepts in the free-form parts."""


@st.composite
def random_event(
    draw: st.DrawFn,
    index: int,
    *,
    texts: st.SearchStrategy[str],
    names: st.SearchStrategy[str],
    values: st.SearchStrategy[Any],
    moments: st.SearchStrategy[datetime],
    stamp: Callable[[datetime], str] = datetime.isoformat,
) -> dict[str, Any]:
    """A random ingestible event (every optional part may be missing) for the property
    tests of export files; ``values`` fill the free-form JSON parts."""

    def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(st.none(), strategy)

    run = st.fixed_dictionaries(
        {"id": names},
        optional={"status": texts, "input": values, "duration_ms": st.integers(0, 2**53 - 1)},
    )
    event: dict[str, Any] = {
        "id": f"e-{index}",
        "action": draw(st.from_regex(r"\A[a-z0-9_]{1,6}(\.[a-z0-9_]{1,6}){0,2}\Z")),
        "occurred_at": stamp(draw(moments)),
        "actor": {
            "id": draw(names),
            "type": draw(st.sampled_from(["user", "service_account", "system", "agent"])),
            "name": draw(optional(texts)),
            "email": draw(optional(texts)),
        },
        "category": draw(optional(names)),
        "source": draw(st.sampled_from(["web", "api", "mcp", "cli", "system", "automation"])),
        "ip": draw(optional(st.ip_addresses().map(str))),
        "user_agent": draw(optional(texts)),
        "resource": draw(
            optional(st.fixed_dictionaries({"type": names, "id": names, "name": optional(texts)}))
        ),
        "changes": draw(
            optional(
                st.lists(
                    st.fixed_dictionaries({"field": names, "old": values, "new": values}),
                    max_size=2,
                )
            )
        ),
        "run": draw(optional(run)),
        "metadata": draw(optional(st.dictionaries(texts, values, max_size=3))),
    }
    return {k: v for k, v in event.items() if v is not None}
