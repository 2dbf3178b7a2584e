"""Streams to SIEMs: their rows, cursors and leases, in SQL both backends share.

A stream is delivered by one process at a time: the one holding its lease. Claiming
is a compare-and-set on ``lease_owner``/``lease_until`` (no ``SKIP LOCKED`` needed:
it is one row), and every later write names the owner, so a process that lost the
lease (it stalled past ``lease_until``, the stream was deleted) can neither move the
cursor nor overwrite the status: its writes match no row and it stops. The cursor
only ever grows (``greatest``), whoever writes it. Lease times are the database's
clock on PostgreSQL (``_clock``), so processes on hosts whose clocks disagree still
agree on whose lease is live."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

__all__ = ["STREAM_COLUMNS", "SqlStreams", "StreamRecord", "StreamStatus"]

StreamStatus = Literal["active", "paused", "failing"]

STREAM_COLUMNS = (
    "id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq, "
    "delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until"
)


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One stream as stored; ``config`` holds no secret (those are in ``secrets_sealed``)."""

    id: str
    tenant_id: int
    name: str
    type: str
    format: str
    filters: dict[str, Any]
    config: dict[str, Any]
    secrets_sealed: bytes | None
    status: StreamStatus
    cursor_seq: int
    delivered: int
    created_at: datetime
    updated_at: datetime
    last_delivery_at: datetime | None = None
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class SqlStreams:
    """The stream queries; a backend supplies its named queries (the fixed ones), its
    placeholder (for the lease queries, composed around ``_clock``), how it encodes
    times and JSON, and how it runs a read and a write."""

    _queries: Mapping[str, str]
    _p: str
    _greatest: str  # max() of two values: SQLite's scalar max, PostgreSQL's greatest

    def _stream_fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _stream_write(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run one statement in a write transaction; its RETURNING rows."""
        raise NotImplementedError

    def _time_in(self, moment: datetime | None) -> Any:
        raise NotImplementedError

    def _time_out(self, value: Any) -> datetime | None:
        raise NotImplementedError

    def _json_in(self, value: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _json_out(self, value: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _clock(self, seconds: float = 0.0) -> tuple[str, list[Any]]:
        """SQL for "now" (plus ``seconds``) in lease times, and its parameters. Leases are
        compared across processes, so a shared database's own clock is used where there
        is one (PostgreSQL); here, this process's clock (SQLite: one host)."""
        return self._p, [self._time_in(_now() + timedelta(seconds=seconds))]

    def _record(self, row: Sequence[Any]) -> StreamRecord:
        created = self._time_out(row[11])
        updated = self._time_out(row[12])
        assert created is not None
        assert updated is not None
        return StreamRecord(
            id=row[0], tenant_id=int(row[1]), name=row[2], type=row[3], format=row[4],
            filters=self._json_out(row[5]), config=self._json_out(row[6]),
            secrets_sealed=None if row[7] is None else bytes(row[7]), status=row[8],
            cursor_seq=int(row[9]), delivered=int(row[10]), created_at=created,
            updated_at=updated, last_delivery_at=self._time_out(row[13]),
            last_error=row[14], lease_owner=row[15], lease_until=self._time_out(row[16]),
        )  # fmt: skip

    def _one(self, rows: list[tuple[Any, ...]]) -> StreamRecord | None:
        return self._record(rows[0]) if rows else None

    # managing -------------------------------------------------------------
    def create_stream(self, record: StreamRecord) -> None:
        self._stream_write(
            self._queries["create_stream"],
            (
                record.id, record.tenant_id, record.name, record.type, record.format,
                self._json_in(record.filters), self._json_in(record.config),
                record.secrets_sealed, record.status, record.cursor_seq, record.delivered,
                self._time_in(record.created_at), self._time_in(record.updated_at), None,
                None, None, None,
            ),
        )  # fmt: skip

    def get_stream(self, tenant_id: int, stream_id: str) -> StreamRecord | None:
        return self._one(self._stream_fetch(self._queries["get_stream"], (tenant_id, stream_id)))

    def list_streams(self, tenant_id: int) -> list[StreamRecord]:
        rows = self._stream_fetch(self._queries["list_streams"], (tenant_id,))
        return [self._record(row) for row in rows]

    def set_stream_status(
        self, tenant_id: int, stream_id: str, status: StreamStatus
    ) -> StreamRecord | None:
        """Pause or resume; ``updated_at`` changes, which tells a delivering process
        that a person acted (a resumed failing stream is retried at once)."""
        return self._one(
            self._stream_write(
                self._queries["set_stream_status"],
                (status, self._time_in(_now()), tenant_id, stream_id),
            )
        )

    def delete_stream(self, tenant_id: int, stream_id: str) -> bool:
        rows = self._stream_write(self._queries["delete_stream"], (tenant_id, stream_id))
        return bool(rows)

    # delivering -----------------------------------------------------------
    def claimable_streams(self, limit: int) -> list[str]:
        """Streams to deliver whose lease is free or ran out, oldest lease first."""
        now, at = self._clock()
        rows = self._stream_fetch(
            "SELECT id FROM streams WHERE status <> 'paused' "
            f"AND (lease_until IS NULL OR lease_until < {now}) "
            f"ORDER BY lease_until, id LIMIT {self._p}",
            (*at, limit),
        )
        return [row[0] for row in rows]

    def claim_stream(self, stream_id: str, owner: str, lease_seconds: float) -> StreamRecord | None:
        """Lease the stream to ``owner`` unless another process holds a live lease."""
        p = self._p
        until, until_at = self._clock(lease_seconds)
        now, now_at = self._clock()
        return self._one(
            self._stream_write(
                f"UPDATE streams SET lease_owner = {p}, lease_until = {until} "
                f"WHERE id = {p} AND status <> 'paused' "
                f"AND (lease_owner IS NULL OR lease_owner = {p} OR lease_until < {now}) "
                f"RETURNING {STREAM_COLUMNS}",
                (owner, *until_at, stream_id, owner, *now_at),
            )
        )

    def stream_progress(
        self,
        stream_id: str,
        owner: str,
        cursor_seq: int,
        delivered: int,
        lease_seconds: float,
    ) -> StreamRecord | None:
        """Move the cursor (never back), count what was delivered, renew the lease; a
        delivery also clears the error and ends ``failing``. None when the lease is lost."""
        p = self._p
        now = _now()
        done = (
            f", last_delivery_at = {p}, last_error = NULL, "
            "status = CASE WHEN status = 'failing' THEN 'active' ELSE status END"
            if delivered
            else ""
        )
        params: list[Any] = [cursor_seq, delivered]
        if delivered:
            params.append(self._time_in(now))
        until, until_at = self._clock(lease_seconds)
        return self._one(
            self._stream_write(
                f"UPDATE streams SET cursor_seq = {self._greatest}(cursor_seq, {p}), "
                f"delivered = delivered + {p}{done}, lease_until = {until} "
                f"WHERE id = {p} AND lease_owner = {p} RETURNING {STREAM_COLUMNS}",
                (*params, *until_at, stream_id, owner),
            )
        )

    def stream_error(
        self, stream_id: str, owner: str, error: str, *, failing: bool, lease_seconds: float
    ) -> StreamRecord | None:
        """Record why a delivery did not go through; ``failing`` when a person must act
        (a paused stream stays paused). None when the lease is lost."""
        p = self._p
        status = (
            "CASE WHEN status = 'paused' THEN status ELSE 'failing' END" if failing else "status"
        )
        until, until_at = self._clock(lease_seconds)
        return self._one(
            self._stream_write(
                f"UPDATE streams SET last_error = {p}, status = {status}, lease_until = {until} "
                f"WHERE id = {p} AND lease_owner = {p} RETURNING {STREAM_COLUMNS}",
                (error[:1000], *until_at, stream_id, owner),
            )
        )

    def release_stream(self, stream_id: str, owner: str) -> None:
        self._stream_write(self._queries["release_stream"], (stream_id, owner))

    def last_seq(self, tenant_id: int) -> int:
        """The tenant's newest seq (-1 for an empty log): every event up to it is visible,
        since a tenant's events commit in seq order."""
        rows = self._stream_fetch(self._queries["log_size"], (tenant_id,))
        return int(rows[0][0]) - 1 if rows else -1

    def seq_received_from(self, tenant_id: int, moment: datetime) -> int:
        """The first seq received at or after ``moment`` (past the end when none is): a
        binary search over seq, a few primary-key reads, since ``received_at`` grows
        with seq and has no index of its own."""
        low, high = 0, self.last_seq(tenant_id) + 1
        sql = self._queries["received_at"]
        while low < high:
            middle = (low + high) // 2
            rows = self._stream_fetch(sql, (tenant_id, middle))
            received = self._time_out(rows[0][0]) if rows else None
            if received is not None and received < moment:
                low = middle + 1
            else:
                high = middle
        return low
