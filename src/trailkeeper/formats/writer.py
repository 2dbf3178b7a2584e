"""What a file format provides: its media type and a chunked byte stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from trailkeeper.events.view import EventView

__all__ = ["CHUNK_ROWS", "FormatWriter"]

CHUNK_ROWS = 500


class FormatWriter(Protocol):
    media_type: str

    def chunks(self, events: Iterable[EventView], *, include_salt: bool) -> Iterator[bytes]:
        """Encode events; ``include_salt`` adds ``pii_salt`` (exports only, never the API)."""
