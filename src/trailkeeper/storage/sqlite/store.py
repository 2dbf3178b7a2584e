"""SQLite implementation of the storage protocols."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from trailkeeper.events.query import EventQuery
from trailkeeper.events.record import Draft
from trailkeeper.events.timestamps import format_micros, from_micros, to_micros
from trailkeeper.events.view import EventView
from trailkeeper.integrity.tiles import extend_tile
from trailkeeper.private_files import private_file
from trailkeeper.storage.dictionaries import (
    DictionaryRows,
    upsert_actions_sql,
    upsert_actors_sql,
)
from trailkeeper.storage.filters import Dialect, like_pattern
from trailkeeper.storage.migrations import load_migrations
from trailkeeper.storage.protocols import (
    CheckpointRecord,
    IntegrateStep,
    Receipt,
    Tenant,
    TokenRecord,
    TreeState,
)
from trailkeeper.storage.reads import SELECT_EVENT, SqlReads
from trailkeeper.storage.rows import (
    INSERT_COLUMNS,
    READ_COLUMNS,
    insert_row,
    scanned_view,
    sequenced_rows,
    view_from_row,
)
from trailkeeper.storage.sequencing import Existing, sequence_batch
from trailkeeper.storage.sqlite.admin import SQLiteAdmin
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.exports import SQLiteExports
from trailkeeper.storage.sqlite.groupcommit import GroupCommit
from trailkeeper.storage.sqlite.ratecounters import RateCounters
from trailkeeper.storage.sqlite.retention import SQLiteRetention
from trailkeeper.storage.sqlite.rowscan import SQLiteRowSource
from trailkeeper.storage.sqlite.sessions import SQLiteSessions
from trailkeeper.storage.sqlite.streams import SQLiteStreams
from trailkeeper.storage.trees import EMPTY_TREE, check_contiguous, tree_state_of

__all__ = ["SQLiteStore"]

_SELECT = ", ".join(READ_COLUMNS)
_INSERT = (
    f"INSERT INTO events ({', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
)
_ID_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch to append, with what could be made of it before the write lock."""

    tenant_id: int
    drafts: Sequence[Draft]
    rows: list[list[Any]]
    dictionaries: DictionaryRows


def _timestamp(micros: int) -> str:
    return format_micros(micros)


def _text_search(q: str) -> tuple[str, list[Any]]:
    """``actor_texts`` rows whose name or email contains ``q``, in any case."""
    if len(q) >= 3:  # the trigram index answers substrings of three or more characters
        phrase = '"' + q.replace('"', '""') + '"'
        return "id IN (SELECT rowid FROM actor_texts_fts WHERE actor_texts_fts MATCH ?)", [phrase]
    pattern = like_pattern(q.casefold())
    return "(fold(name) LIKE ? ESCAPE '\\' OR fold(email) LIKE ? ESCAPE '\\')", [pattern] * 2


def _unindexed(column: str) -> str:
    return f"+{column}"  # SQLite's documented way to keep a term from using an index


DIALECT = Dialect(placeholder="?", timestamp=to_micros, unindexed=_unindexed)


class SQLiteStore(
    SQLiteAdmin, SQLiteExports, SQLiteStreams, SQLiteRetention, SQLiteSessions, SqlReads
):
    backend = "sqlite"
    dialect = DIALECT

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.conns.connection().execute(sql, params).fetchall()

    def _timestamp(self, value: Any) -> str:
        return _timestamp(value)

    def _text_search(self, q: str) -> tuple[str, list[Any]]:
        return _text_search(q)

    def _page_sql(self, where: str, query: EventQuery, columns: str = SELECT_EVENT) -> str:
        """With a date range, find the page's rows in the (occurred_at, seq) index
        first and read only those rows, instead of sorting every row in the range.
        (Without one, the seq-ordered indexes already stop after one page.)"""
        if query.start is None and query.end is None:
            return super()._page_sql(where, query, columns)
        order = query.order
        return (
            f"SELECT {columns} FROM events WHERE pk IN "
            f"(SELECT pk FROM events WHERE {where} ORDER BY seq {order} LIMIT ?) "
            f"ORDER BY seq {order}"
        )

    def __init__(self, path: Path) -> None:
        private_file(path)  # 0600 before SQLite opens it: its WAL and SHM files follow
        self.conns = SQLiteConnections(path)
        self._appends = GroupCommit(self.conns, self._append)
        self._rates = RateCounters(path)

    # lifecycle -----------------------------------------------------------
    def migrate(self) -> int:
        with self.conns.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            version = max(applied, default=0)
            for migration in load_migrations("trailkeeper.storage.sqlite"):
                if migration.version in applied:
                    continue
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_micros(datetime.now(UTC))),
                )
                version = migration.version
        return version

    def claim(self, name: str, value: bytes) -> bytes:
        with self.conns.write() as conn:
            conn.execute("INSERT OR IGNORE INTO deployment VALUES (?, ?)", (name, value))
            row = conn.execute("SELECT value FROM deployment WHERE name = ?", (name,)).fetchone()
        return bytes(row[0])

    def ping(self) -> None:
        self.conns.connection().execute("SELECT 1").fetchone()

    def close(self) -> None:
        self._rates.close()
        self.conns.close()

    # events --------------------------------------------------------------
    def append(self, tenant_id: int, drafts: Sequence[Draft]) -> list[Receipt]:
        # Everything that does not depend on the log's state is done before the write
        # lock, so that it overlaps with other batches' transactions; those that arrive
        # together are committed together (groupcommit.py).
        rows = [insert_row(tenant_id, d, to_micros(d.occurred_at)) for d in drafts]
        batch = _Batch(tenant_id, drafts, rows, DictionaryRows(tenant_id, drafts))
        return self._appends.submit(batch)

    def _ingest_waiting(self) -> bool:
        return self._appends.waiting()

    def append_many(
        self, batches: Sequence[tuple[int, Sequence[Draft]]]
    ) -> list[list[Receipt] | Exception]:
        prepared = [
            _Batch(
                tenant_id,
                drafts,
                [insert_row(tenant_id, d, to_micros(d.occurred_at)) for d in drafts],
                DictionaryRows(tenant_id, drafts),
            )
            for tenant_id, drafts in batches
        ]
        return self._appends.run(prepared)

    def _append(self, conn: sqlite3.Connection, batch: _Batch) -> list[Receipt]:
        """One batch, inside the group's transaction."""
        tenant_id, drafts = batch.tenant_id, batch.drafts
        row = conn.execute("SELECT next_seq FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
        received_at = datetime.now(UTC)
        plan = sequence_batch(drafts, self._existing(conn, tenant_id, drafts), row[0], received_at)
        if plan.new:
            conn.executemany(_INSERT, sequenced_rows(batch.rows, plan.new, to_micros(received_at)))
            actors, actions = batch.dictionaries.of(plan.new)
            conn.executemany(upsert_actors_sql("?"), actors)
            conn.executemany(upsert_actions_sql("?"), actions)
            conn.execute("UPDATE tenants SET next_seq = ? WHERE id = ?", (plan.next_seq, tenant_id))
        return plan.receipts

    def _existing(
        self, conn: sqlite3.Connection, tenant_id: int, drafts: Sequence[Draft]
    ) -> dict[str, Existing]:
        ids = list({d.id for d in drafts})
        found: dict[str, Existing] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for event_id, seq, content, leaf in conn.execute(
                "SELECT id, seq, content_hash, leaf_hash FROM events "
                f"WHERE tenant_id = ? AND id IN ({marks})",
                (tenant_id, *chunk),
            ):
                found[event_id] = Existing(seq, content, leaf)
        return found

    def get_event(self, tenant_id: int, event_id: str) -> EventView | None:
        row = (
            self.conns.connection()
            .execute(
                f"SELECT {_SELECT} FROM events WHERE tenant_id = ? AND id = ?",
                (tenant_id, event_id),
            )
            .fetchone()
        )
        return None if row is None else view_from_row(row, _timestamp)

    # integrity ----------------------------------------------------------
    def tenants_to_integrate(self) -> list[int]:
        rows = self.conns.connection().execute(
            "SELECT t.id FROM tenants t LEFT JOIN tree_state s ON s.tenant_id = t.id "
            "WHERE coalesce(s.size, 0) < t.next_seq ORDER BY t.id"
        )
        return [int(r[0]) for r in rows]

    def integrate(self, tenant_id: int, limit: int, step: IntegrateStep) -> TreeState | None:
        with self.conns.write() as conn:
            state = self._tree_state(conn, tenant_id)
            rows = conn.execute(
                "SELECT seq, leaf_hash FROM events WHERE tenant_id = ? AND seq >= ? "
                "ORDER BY seq LIMIT ?",
                (tenant_id, state.size, limit),
            ).fetchall()
            if not rows:
                return state
            check_contiguous(state.size, [r[0] for r in rows])
            new_state, additions = step(state, [bytes(r[1]) for r in rows])
            stored = self._tiles(conn, tenant_id, additions.keys())
            conn.executemany(
                "INSERT OR REPLACE INTO tree_tiles VALUES (?, ?, ?, ?)",
                [
                    (tenant_id, level, index, extend_tile(stored.get((level, index), b""), adds))
                    for (level, index), adds in additions.items()
                ],
            )
            conn.execute(
                "INSERT OR REPLACE INTO tree_state VALUES (?, ?, ?, ?, ?)",
                (tenant_id, new_state.size, b"".join(new_state.edge), new_state.root,
                 to_micros(datetime.now(UTC))),
            )  # fmt: skip
        return new_state

    def tree_state(self, tenant_id: int) -> TreeState:
        return self._tree_state(self.conns.connection(), tenant_id)

    @staticmethod
    def _tree_state(conn: sqlite3.Connection, tenant_id: int) -> TreeState:
        row = conn.execute(
            "SELECT size, edge, root FROM tree_state WHERE tenant_id = ?", (tenant_id,)
        ).fetchone()
        return EMPTY_TREE if row is None else tree_state_of(row[0], bytes(row[1]), bytes(row[2]))

    def read_tiles(
        self, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        return self._tiles(self.conns.connection(), tenant_id, keys)

    @staticmethod
    def _tiles(
        conn: sqlite3.Connection, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        found: dict[tuple[int, int], bytes] = {}
        for level, index in sorted(set(keys)):  # one primary-key lookup each
            row = conn.execute(
                "SELECT hashes FROM tree_tiles WHERE tenant_id = ? AND level = ? AND idx = ?",
                (tenant_id, level, index),
            ).fetchone()
            if row is not None:
                found[(level, index)] = bytes(row[0])
        return found

    def add_checkpoint(self, tenant_id: int, size: int, root: bytes, note: str) -> None:
        with self.conns.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?, ?, ?)",
                (tenant_id, size, root, note, to_micros(datetime.now(UTC))),
            )

    def checkpoint(self, tenant_id: int, size: int | None = None) -> CheckpointRecord | None:
        where = "tenant_id = ?" + ("" if size is None else " AND size = ?")
        params = (tenant_id,) if size is None else (tenant_id, size)
        row = (
            self.conns.connection()
            .execute(
                f"SELECT size, root, note, created_at FROM checkpoints WHERE {where} "
                "ORDER BY size DESC LIMIT 1",
                params,
            )
            .fetchone()
        )
        return None if row is None else _checkpoint(row)

    def checkpoints(self, tenant_id: int) -> list[CheckpointRecord]:
        rows = self.conns.connection().execute(
            "SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = ? "
            "ORDER BY size",
            (tenant_id,),
        )
        return [_checkpoint(r) for r in rows]

    def scan(self, tenant_id: int) -> Iterator[tuple[EventView, bytes | None]]:
        reader = self.row_source().open()
        try:
            for row in reader.rows(tenant_id, None, None):
                yield scanned_view(row)
        finally:
            reader.close()

    def row_source(self) -> SQLiteRowSource:
        """Raw rows and tiles on connections of their own (``verify``'s worker processes)."""
        return SQLiteRowSource(str(self.conns.path))

    # tenants and tokens --------------------------------------------------
    def create_tenant(self, name: str, webhook_secret_sealed: bytes) -> Tenant:
        with self.conns.write() as conn:
            cursor = conn.execute(
                "INSERT INTO tenants (name, webhook_secret, created_at) VALUES (?, ?, ?)",
                (name, webhook_secret_sealed, to_micros(datetime.now(UTC))),
            )
            assert cursor.lastrowid is not None
            return Tenant(cursor.lastrowid, name, webhook_secret_sealed)

    def tenant_by_name(self, name: str) -> Tenant | None:
        return self._tenant("name = ?", name)

    def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        return self._tenant("id = ?", tenant_id)

    def tenants(self) -> list[Tenant]:
        rows = self.conns.connection().execute(
            "SELECT id, name, webhook_secret FROM tenants ORDER BY id"
        )
        return [Tenant(row[0], row[1], bytes(row[2])) for row in rows]

    def _tenant(self, where: str, value: Any) -> Tenant | None:
        row = (
            self.conns.connection()
            .execute(f"SELECT id, name, webhook_secret FROM tenants WHERE {where}", (value,))
            .fetchone()
        )
        return None if row is None else Tenant(row[0], row[1], bytes(row[2]))

    def create_token(
        self, token_id: str, tenant_id: int, name: str, token_hash: bytes, scopes: Sequence[str]
    ) -> TokenRecord:
        now = datetime.now(UTC)
        with self.conns.write() as conn:
            conn.execute(
                "INSERT INTO tokens (id, tenant_id, name, token_hash, scopes, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token_id,
                    tenant_id,
                    name,
                    token_hash,
                    orjson.dumps(list(scopes)).decode(),
                    to_micros(now),
                ),
            )
        return TokenRecord(
            token_id, tenant_id, name, tuple(scopes), from_micros(to_micros(now)), None, token_hash
        )

    def token_by_hash(self, token_hash: bytes) -> TokenRecord | None:
        row = (
            self.conns.connection()
            .execute(f"SELECT {_TOKEN} FROM tokens WHERE token_hash = ?", (token_hash,))
            .fetchone()
        )
        return None if row is None else _token(row)

    def live_tokens(self, token_ids: Sequence[str]) -> set[str]:
        ids = list(dict.fromkeys(token_ids))
        marks = ", ".join("?" * len(ids))
        rows = self.conns.connection().execute(
            f"SELECT id FROM tokens WHERE id IN ({marks}) AND revoked_at IS NULL", ids
        )
        return {str(r[0]) for r in rows}

    def list_tokens(self, tenant_id: int) -> list[TokenRecord]:
        rows = self.conns.connection().execute(
            f"SELECT {_TOKEN} FROM tokens WHERE tenant_id = ? ORDER BY created_at, id",
            (tenant_id,),
        )
        return [_token(row) for row in rows]

    def revoke_token(self, tenant_id: int, token_id: str) -> TokenRecord | None:
        with self.conns.write() as conn:
            conn.execute(
                "UPDATE tokens SET revoked_at = ? "
                "WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL",
                (to_micros(datetime.now(UTC)), tenant_id, token_id),
            )
            row = conn.execute(
                f"SELECT {_TOKEN} FROM tokens WHERE tenant_id = ? AND id = ?",
                (tenant_id, token_id),
            ).fetchone()
        return None if row is None else _token(row)

    # rate limits ---------------------------------------------------------
    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        return self._rates.hit(key, window_start)

    def hit_many(self, keys: Sequence[str], window_start: int, window_seconds: int) -> list[int]:
        return self._rates.hit_many(keys, window_start)


def _checkpoint(row: Sequence[Any]) -> CheckpointRecord:
    return CheckpointRecord(int(row[0]), bytes(row[1]), str(row[2]), from_micros(row[3]))


_TOKEN = "id, tenant_id, name, scopes, created_at, revoked_at, token_hash"  # noqa: S105 (column list)


def _token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(
        id=row[0],
        tenant_id=row[1],
        name=row[2],
        scopes=tuple(orjson.loads(row[3])),
        created_at=from_micros(row[4]),
        revoked_at=None if row[5] is None else from_micros(row[5]),
        token_hash=bytes(row[6]),
    )


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
