"""Microsoft Sentinel through Azure Monitor's Logs Ingestion API:
``POST <endpoint>/dataCollectionRules/<dcr>/streams/<stream>?api-version=2023-01-01``,
a gzip'd JSON array of at most 1 MB, with an Entra ID bearer token; 204 means
accepted.

Tokens come from the OAuth 2.0 client-credentials grant at
``<authority_url>/<tenant_id>/oauth2/v2.0/token`` (scope
``https://monitor.azure.com//.default``) and are cached until a minute before they
expire. A 401 from the ingestion endpoint drops the cached token, so the retry
asks for a new one. Each row is the event with ``TimeGenerated`` = ``occurred_at``,
which every Log Analytics table needs."""

from __future__ import annotations

import gzip
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx

from trailkeeper.streams.config import AzureMonitorConfig
from trailkeeper.streams.destinations.base import Batch, Outcome, classify, post
from trailkeeper.streams.formats import Item

__all__ = ["AzureMonitorStream", "TokenCache"]

API_VERSION = "2023-01-01"
SCOPE = "https://monitor.azure.com//.default"
MB = 1000 * 1000
WHAT = "Azure Monitor"
_EARLY = 60.0  # renew a token this many seconds before it expires


def _error_detail(response: httpx.Response) -> str | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code')}: {str(error.get('message', ''))[:200]}"
    if isinstance(error, str):  # the token endpoint: {"error", "error_description"}
        return f"{error}: {str(answer.get('error_description', ''))[:200]}"
    return None


class TokenCache:
    """One client-credentials token, reused until shortly before it expires."""

    def __init__(self, config: AzureMonitorConfig, client: httpx.Client) -> None:
        tenant = quote(config.tenant_id, safe="")
        self._url = f"{config.authority_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"
        self._form = {
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "scope": SCOPE,
        }
        self._client = client
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.fetched = 0

    def forget(self) -> None:
        with self._lock:
            self._token = None

    def token(self) -> str | Outcome:
        with self._lock:
            if self._token is not None and time.monotonic() < self._expires:
                return self._token
            try:
                response = self._client.post(self._url, data=self._form)
            except httpx.HTTPError as exc:
                return Outcome("retry", f"Entra ID token request failed: {type(exc).__name__}")
            if response.status_code != 200:
                return classify(response, "Entra ID (token)", _error_detail(response))
            try:  # a proxy's page or a truncated answer: try again, as for a 5xx
                answer: dict[str, Any] = response.json()
                token, lifetime = str(answer["access_token"]), float(answer.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError, AttributeError):
                return Outcome("retry", "Entra ID (token) answered 200 without an access token")
            self._token = token
            self._expires = time.monotonic() + max(0.0, lifetime - _EARLY)
            self.fetched += 1
            return self._token


class AzureMonitorStream:
    max_events = 1000
    max_bytes = MB - 2  # before compression, so any batch is within the 1 MB limit

    def __init__(self, config: AzureMonitorConfig, client: httpx.Client) -> None:
        self._client = client
        self.tokens = TokenCache(config, client)
        rule = quote(config.dcr_immutable_id, safe="")
        stream = quote(config.stream_name, safe="")
        self._url = (
            f"{config.endpoint.rstrip('/')}/dataCollectionRules/{rule}/streams/{stream}"
            f"?api-version={API_VERSION}"
        )

    def encode(self, item: Item) -> bytes:
        stamp = b'{"TimeGenerated":"%b",' % item.occurred_at.encode()
        return stamp + item.encoded[1:]

    def send(self, batch: Batch) -> Outcome:
        fetched = self.tokens.fetched
        token = self.tokens.token()
        if isinstance(token, Outcome):
            return token
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        body = gzip.compress(b"[" + b",".join(batch.pieces) + b"]", compresslevel=6)
        answer = post(self._client, self._url, WHAT, body, headers)
        if isinstance(answer, Outcome):
            return answer
        if answer.status_code == 401 and self.tokens.fetched == fetched:
            self.tokens.forget()  # a cached token that no longer works: get a new one
            return Outcome("retry", f"{WHAT} answered HTTP 401: {_error_detail(answer) or ''}")
        return classify(answer, WHAT, _error_detail(answer))

    def close(self) -> None:
        self._client.close()
