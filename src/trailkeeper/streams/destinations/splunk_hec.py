"""Splunk HTTP Event Collector: ``POST /services/collector/event`` with the events'
envelopes one after another (no array, no commas), ``Authorization: Splunk <token>``.

Splunk answers ``{"text", "code"}``: code 0 is success; 9 (server busy, 503) and
other 5xx are retried; 400s (bad data, incorrect index) and 401/403 (token missing,
disabled or invalid) need a person. When one event of a batch is bad, the events
before it may already be indexed, so a retry may repeat them: at least once."""

from __future__ import annotations

import httpx
import orjson

from trailkeeper.streams.config import SplunkHecConfig
from trailkeeper.streams.destinations.base import ACCEPTED, Batch, Outcome, classify, post
from trailkeeper.streams.formats import Item

__all__ = ["SplunkHec"]

PATH = "/services/collector/event"
MiB = 1024 * 1024
WHAT = "Splunk HEC"


def _detail(response: httpx.Response) -> str | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    if isinstance(answer, dict) and "text" in answer:
        extra = answer.get("invalid-event-number")
        where = "" if extra is None else f", invalid-event-number {extra}"
        return f"{answer['text']} (code {answer.get('code')}{where})"
    return None


class SplunkHec:
    max_events = 1000
    max_bytes = MiB  # Splunk Cloud's documented-by-others limit; safe everywhere

    def __init__(self, config: SplunkHecConfig, client: httpx.Client) -> None:
        self._client = client
        self._url = config.url.rstrip("/") + PATH
        self._auth = {"Authorization": f"Splunk {config.token}", "Content-Type": "application/json"}
        fields = {"source": "trailkeeper", "sourcetype": config.sourcetype}
        if config.index is not None:
            fields["index"] = config.index
        self._fields = orjson.dumps(fields)[1:-1]  # '"source":…,"sourcetype":…'

    def encode(self, item: Item) -> bytes:
        seconds, micros = divmod(item.micros, 1_000_000)
        time = b"%d.%03d" % (seconds, micros // 1000)
        return b'{"time":%b,%b,"event":%b}' % (time, self._fields, item.encoded)

    def send(self, batch: Batch) -> Outcome:
        answer = post(self._client, self._url, WHAT, b"\n".join(batch.pieces), self._auth)
        if isinstance(answer, Outcome):
            return answer
        if answer.status_code == 200:
            return ACCEPTED
        return classify(answer, WHAT, _detail(answer))

    def close(self) -> None:
        self._client.close()
