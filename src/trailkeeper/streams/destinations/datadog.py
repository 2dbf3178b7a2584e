"""Datadog Logs intake v2: ``POST <url>/api/v2/logs``, a gzip'd JSON array of at
most 1,000 logs and 5 MB before compression, ``DD-API-KEY``; 202 means accepted.

Each log carries ``ddsource: trailkeeper``, the stream's ``service`` and tags, a
short ``message`` (action, actor, resource), ``date`` (epoch ms of ``occurred_at``,
which Datadog takes as the log's time), the standard attributes ``evt.name``,
``usr.id`` and ``network.client.ip``, and the whole event under ``audit``."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import orjson

from trailkeeper.streams.config import DatadogConfig
from trailkeeper.streams.destinations.base import Batch, Outcome, classify, post
from trailkeeper.streams.formats import Item

__all__ = ["DatadogStream", "datadog_log"]

PATH = "/api/v2/logs"
MB = 1000 * 1000
WHAT = "Datadog"


def _summary(event: dict[str, Any]) -> str:
    actor = event.get("actor") or {}
    who = actor.get("email") or actor.get("name") or actor.get("id") or "someone"
    resource = event.get("resource") or {}
    on = (
        f" on {resource.get('type')} {resource.get('name') or resource.get('id')}"
        if resource
        else ""
    )
    return f"{event.get('action')} by {who}{on}"


def datadog_log(item: Item, service: str, tags: str) -> dict[str, Any]:
    body = item.value
    event = body if isinstance(body, dict) else {"message": body}
    log: dict[str, Any] = {
        "ddsource": "trailkeeper",
        "service": service,
        "message": _summary(event) if "action" in event else str(event.get("message", "")),
        "date": item.micros // 1000,
        "evt": {"name": event.get("action") or event.get("message")},
        "audit": event,
    }
    if tags:
        log["ddtags"] = tags
    actor = event.get("actor")
    if isinstance(actor, dict) and actor.get("id") is not None:
        log["usr"] = {"id": actor["id"], "name": actor.get("name"), "email": actor.get("email")}
    if event.get("ip"):
        log["network"] = {"client": {"ip": event["ip"]}}
    return log


class DatadogStream:
    max_events = 1000
    max_bytes = 5 * MB - 2  # the array's brackets

    def __init__(self, config: DatadogConfig, client: httpx.Client) -> None:
        self._client = client
        self._url = config.url.rstrip("/") + PATH
        self._service = config.service
        self._tags = ",".join(config.tags)
        self._headers = {
            "DD-API-KEY": config.api_key,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }

    def encode(self, item: Item) -> bytes:
        return orjson.dumps(datadog_log(item, self._service, self._tags))

    def send(self, batch: Batch) -> Outcome:
        body = gzip.compress(b"[" + b",".join(batch.pieces) + b"]", compresslevel=6)
        answer = post(self._client, self._url, WHAT, body, self._headers)
        return answer if isinstance(answer, Outcome) else classify(answer, WHAT)

    def close(self) -> None:
        self._client.close()
