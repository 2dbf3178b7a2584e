"""Elasticsearch and OpenSearch ``_bulk``: NDJSON ``create`` actions with
``_id`` = the event id, so a batch sent twice stores each event once (the repeat
comes back per item as 409, "already stored", which counts as accepted). Data
streams accept only ``create`` and need ``@timestamp``: each document gets
``@timestamp`` = ``occurred_at``.

HTTP 200 does not mean every item was stored: each item's status is checked. A
batch is accepted when every item is 200/201/409; an item refused with 429 or 5xx
makes the whole batch retried (the stored ones answer 409 then); any other item
error (a mapping conflict, say) needs a person, quoting Elasticsearch's reason."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson

from trailkeeper.streams.config import ElasticsearchConfig
from trailkeeper.streams.destinations.base import ACCEPTED, Batch, Outcome, classify, post
from trailkeeper.streams.formats import Item

__all__ = ["ElasticsearchStream", "bulk_outcome"]

MiB = 1024 * 1024
WHAT = "Elasticsearch"
_STORED = frozenset({200, 201, 409})


def _auth(config: ElasticsearchConfig) -> dict[str, str]:
    if config.api_key is not None:
        return {"Authorization": f"ApiKey {config.api_key}"}
    if config.username is not None and config.password is not None:
        pair = f"{config.username}:{config.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return {}


def bulk_outcome(answer: dict[str, Any], seqs: list[int]) -> Outcome:
    """What a ``_bulk`` answer means for the batch, item by item."""
    if not answer.get("errors"):
        return ACCEPTED
    retry: Outcome | None = None
    for seq, entry in zip(seqs, answer.get("items") or [], strict=False):
        result: dict[str, Any] = next(iter(entry.values()), {}) if isinstance(entry, dict) else {}
        status = int(result.get("status", 0))
        if status in _STORED:
            continue
        error = result.get("error") or {}
        reason = f"{error.get('type', 'error')}: {str(error.get('reason', ''))[:200]}"
        message = f"{WHAT} refused event seq {seq} (HTTP {status}): {reason}"
        if status == 429 or status >= 500:
            retry = retry or Outcome("retry", message)
            continue
        return Outcome("failing", message)
    return retry or ACCEPTED


class ElasticsearchStream:
    max_events = 1000
    max_bytes = 10 * MiB

    def __init__(self, config: ElasticsearchConfig, client: httpx.Client) -> None:
        self._client = client
        self._url = config.url.rstrip("/") + "/_bulk"
        self._index = config.index
        self._headers = {"Content-Type": "application/x-ndjson", **_auth(config)}

    def encode(self, item: Item) -> bytes:
        action = {"create": {"_index": self._index, "_id": item.id}}
        stamp = b'{"@timestamp":"%b",' % item.occurred_at.encode()
        return orjson.dumps(action) + b"\n" + stamp + item.encoded[1:] + b"\n"

    def send(self, batch: Batch) -> Outcome:
        answer = post(self._client, self._url, WHAT, b"".join(batch.pieces), self._headers)
        if isinstance(answer, Outcome):
            return answer
        if answer.status_code != 200:
            return classify(answer, WHAT)
        try:
            parsed = answer.json()
        except ValueError:
            return Outcome("retry", f"{WHAT} answered 200 with a body that is not JSON")
        if not isinstance(parsed, dict):
            return Outcome("retry", f"{WHAT} answered 200 with an unexpected body")
        return bulk_outcome(parsed, batch.seqs)

    def close(self) -> None:
        self._client.close()
