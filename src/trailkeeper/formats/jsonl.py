"""JSON Lines: one event per line, exactly as the API returns it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from trailkeeper.events.view import EventView
from trailkeeper.formats.writer import CHUNK_ROWS

__all__ = ["JsonlWriter"]


class JsonlWriter:
    media_type = "application/x-ndjson"

    def chunks(self, events: Iterable[EventView], *, include_salt: bool) -> Iterator[bytes]:
        buffer: list[bytes] = []
        for event in events:
            line: Mapping[str, Any] = event
            if not include_salt:
                line = {k: v for k, v in event.items() if k != "pii_salt"}
            buffer.append(orjson.dumps(line))
            if len(buffer) >= CHUNK_ROWS:
                yield b"\n".join(buffer) + b"\n"
                buffer.clear()
        if buffer:
            yield b"\n".join(buffer) + b"\n"
