"""The optional C loops (``trailkeeper._native``, sources in ``src/native/``), or None each.

The package is built with them when a C compiler is there; each stands beside the Python
code it replaces, which runs where the C loop declines a batch and when the module is
missing. ``TRAILKEEPER_NATIVE=0`` in the environment switches them off (to rule them out
when chasing a problem): everything then runs in Python, slower, with the same output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["LOADED", "encode_rows", "export_columns", "jsonl_block"]

encode_rows: Callable[..., list[bytes] | None] | None = None
"""``encode_rows(rows, epoch, loads, fromhex, sha256)``: see :mod:`trailkeeper.events.leaves`."""
jsonl_block: Callable[[Sequence[Any]], bytes | None] | None = None
"""``jsonl_block(rows)``: see :mod:`trailkeeper.exports.jsonlines`."""
export_columns: Callable[[Sequence[Any]], list[Any] | None] | None = None
"""``export_columns(rows)``: see :mod:`trailkeeper.exports.rows`."""

if os.environ.get("TRAILKEEPER_NATIVE", "1") != "0":
    try:
        from trailkeeper import _native
    except ImportError:  # built without a C compiler
        pass
    else:
        encode_rows = _native.encode_rows
        jsonl_block = _native.jsonl_block
        export_columns = _native.export_columns

LOADED = encode_rows is not None
"""Whether the C loops are in use (built, and not switched off)."""
