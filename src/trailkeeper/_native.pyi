"""Type stubs for the optional C module (C sources in ``src/native/``)."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

def encode_rows(
    rows: Sequence[Sequence[Any]],
    epoch: int,
    loads: Callable[[Any], Any],
    fromhex: Callable[[str], bytes],
    sha256: Callable[[bytes], Any],
) -> list[bytes] | None: ...
def jsonl_block(rows: Sequence[Sequence[Any]]) -> bytes | None: ...
def export_columns(
    rows: Sequence[Sequence[Any]],
) -> list[bytes | tuple[bytes | None, int, bytes, bytes]] | None: ...
def draft_leaf(salt: bytes, sha256: Callable[[bytes], Any], *fields: Any) -> Any: ...
def rfc3339_utc(text: str) -> tuple[datetime, str] | None: ...
def byte_counts(data: bytes) -> tuple[int, int, bool]: ...
