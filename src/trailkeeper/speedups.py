"""The optional C loops (``trailkeeper._native``, sources in ``src/native/``), or None each.

The package is built with them when a C compiler is there; each stands beside the Python
code it replaces, which runs where the C loop declines a batch and when the module is
missing. ``TRAILKEEPER_NATIVE=0`` in the environment switches them off (to rule them out
when chasing a problem): everything then runs in Python, slower, with the same output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from trailkeeper.rowlayout import LAYOUT

__all__ = [
    "LOADED", "STALE", "byte_counts", "draft_leaf", "encode_rows", "jsonl_block", "rfc3339_utc",
]  # fmt: skip

STALE = False
"""Whether a built C module was left unused because it was built for other code
(``pip install -e .`` rebuilds it)."""

encode_rows: Callable[..., list[bytes] | None] | None = None
"""``encode_rows(rows, epoch, loads, fromhex, sha256)``: see :mod:`trailkeeper.events.leaves`."""
jsonl_block: Callable[[Sequence[Any]], bytes | None] | None = None
"""``jsonl_block(rows)``: see :mod:`trailkeeper.exports.jsonlines`."""
draft_leaf: Callable[..., tuple[str, tuple[bytes, bytes, bytes]] | None] | None = None
"""``draft_leaf(salt, sha256, action, …)``: see :mod:`trailkeeper.events.record`."""
byte_counts: Callable[[bytes], tuple[int, int, bool]] | None = None
"""``byte_counts(text)``: see :mod:`trailkeeper.events.body`."""
rfc3339_utc: Callable[[str], tuple[datetime, str] | None] | None = None
"""``rfc3339_utc(text)``: see :mod:`trailkeeper.events.timestamps`."""


def _built() -> Any:
    """The compiled module, or None where it was built without a C compiler."""
    try:
        from trailkeeper import _native
    except ImportError:
        return None
    return _native


if os.environ.get("TRAILKEEPER_NATIVE", "1") != "0" and (_module := _built()) is not None:
    if getattr(_module, "LAYOUT", None) == LAYOUT:
        encode_rows = _module.encode_rows
        jsonl_block = _module.jsonl_block
        draft_leaf = _module.draft_leaf
        rfc3339_utc = _module.rfc3339_utc
        byte_counts = _module.byte_counts
    else:  # built for another row layout or C interface: the Python loops run
        STALE = True

LOADED = encode_rows is not None
"""Whether the C loops are in use (built, and not switched off)."""
