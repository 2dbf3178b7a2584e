"""What every destination shares: a batch of encoded events, the outcome of sending
it, and how an HTTP answer maps to one.

The engine needs only four outcomes: ``accepted`` (move the cursor), ``retry``
(the same batch again after a backoff, or when ``Retry-After`` says), ``too_large``
(split the batch) and ``failing`` (a person must act: bad credentials, a rejected
payload; retried slowly, events kept). Messages quote the destination's answer,
never a secret or a URL's path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import httpx

from trailkeeper.outbound.safety import DestinationRefused
from trailkeeper.streams.formats import Item
from trailkeeper.webhooks.schedule import parse_retry_after

__all__ = [
    "ACCEPTED",
    "Batch",
    "Destination",
    "Outcome",
    "answer_text",
    "classify",
    "post",
]

RETRYABLE = frozenset({408, 425, 429})
_DETAIL = 300


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["accepted", "retry", "too_large", "failing"]
    message: str = ""
    retry_after: float | None = None


ACCEPTED = Outcome("accepted")


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive matching events of one stream, each encoded for the destination."""

    stream_id: str
    seqs: list[int]
    pieces: list[bytes]

    @property
    def first_seq(self) -> int:
        return self.seqs[0]

    @property
    def last_seq(self) -> int:
        return self.seqs[-1]

    def halves(self) -> tuple[Batch, Batch]:
        middle = len(self.seqs) // 2
        return (
            Batch(self.stream_id, self.seqs[:middle], self.pieces[:middle]),
            Batch(self.stream_id, self.seqs[middle:], self.pieces[middle:]),
        )


class Destination(Protocol):
    """One stream's connection to its SIEM. ``send`` never raises."""

    max_events: int
    max_bytes: int

    def encode(self, item: Item) -> bytes: ...

    def send(self, batch: Batch) -> Outcome: ...

    def close(self) -> None: ...


def answer_text(response: httpx.Response) -> str:
    """The start of an answer's body on one line, to quote in ``last_error``."""
    text = response.text.strip().replace("\r", " ").replace("\n", " ")
    return text[:_DETAIL]


def classify(response: httpx.Response, what: str, detail: str | None = None) -> Outcome:
    """The outcome an HTTP answer means; ``detail`` is what to quote (default: the body)."""
    status = response.status_code
    if 200 <= status < 300:
        return ACCEPTED
    quoted = answer_text(response) if detail is None else detail
    message = f"{what} answered HTTP {status}" + (f": {quoted}" if quoted else "")
    if status == 413:
        return Outcome("too_large", message)
    if status in RETRYABLE or status >= 500:
        wait = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        return Outcome("retry", message, wait)
    if 300 <= status < 400:
        return Outcome("failing", f"{what} answered HTTP {status}: redirects are not followed")
    return Outcome("failing", message)


def post(
    client: httpx.Client, url: str, what: str, content: bytes, headers: dict[str, str]
) -> httpx.Response | Outcome:
    """POST, turning what went wrong on the way into a ``retry`` outcome."""
    try:
        return client.post(url, content=content, headers=headers)
    except DestinationRefused as exc:
        return Outcome("failing", f"{what}: destination refused: {exc.message}")
    except httpx.TimeoutException:
        return Outcome("retry", f"{what} did not answer in time")
    except httpx.ConnectError as exc:
        return Outcome("retry", f"could not connect to {what}: {str(exc)[:200]}")
    except httpx.HTTPError as exc:
        return Outcome("retry", f"request to {what} failed: {type(exc).__name__}")
