"""JSON Lines: one event per line, exactly as the API returns it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from trailkeeper.formats.writer import CHUNK_ROWS

__all__ = ["JsonlWriter"]


class JsonlWriter:
    media_type = "application/x-ndjson"

    def chunks(self, events: Iterable[dict[str, Any]], *, include_salt: bool) -> Iterator[bytes]:
        buffer: list[bytes] = []
        for event in events:
            if not include_salt:
                event = {k: v for k, v in event.items() if k != "pii_salt"}
            buffer.append(orjson.dumps(event))
            if len(buffer) >= CHUNK_ROWS:
                yield b"\n".join(buffer) + b"\n"
                buffer.clear()
        if buffer:
            yield b"\n".join(buffer) + b"\n"
