"""What a stream reads (raw rows, their JSON from the export path's writer) is the
event as the API returns it, byte for byte, on both databases; filters and the
cursor select the same events as ``GET /v1/events``. On PostgreSQL the read walks
an index in seq order and never sorts, whatever the planner's statistics say."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from support import Api, make_event
from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper
from trailkeeper.streams.formats import items_from_rows


def test_stream_rows_are_the_api_views(api: Api, service: Trailkeeper) -> None:
    odd = {"text": 'quote " back \\ nl \n tab \t ctl \x01 é 𝄞', "n": 1.5, "big": 2**53 - 1}
    api.ingest(
        *[make_event(i, metadata=odd if i % 2 else None, ip=None if i % 3 else "2001:db8::1")
          for i in range(30)],
        make_event(99, action="pipe.created", resource=None, changes=None),
    )  # fmt: skip
    tenant = service.tenancy.tenant(api.tenant)
    for query, after in ((EventQuery(), -1), (EventQuery(action=("card.*",)), 5)):
        views = service.store.page(tenant.id, replace(query, order="asc"), after, 1000)
        rows = service.store.stream_rows(tenant.id, query, after, 1000)
        items = items_from_rows("native", rows)
        assert [item.raw for item in items] == [orjson.dumps(v) for v in views]
        assert [(i.seq, i.id, i.action, i.occurred_at) for i in items] == [
            (v["seq"], v["id"], v["action"], v["occurred_at"]) for v in views
        ]
        assert len(items) > 20
    ocsf = items_from_rows("ocsf", service.store.stream_rows(tenant.id, EventQuery(), -1, 3))
    assert all(isinstance(i.body, dict) and i.body["class_uid"] == 6003 for i in ocsf)


def test_postgresql_reads_a_batch_along_an_index_without_sorting(
    api: Api, service: Trailkeeper
) -> None:
    """A sort of every match after the cursor, to keep the first thousand, is what the
    planner chose with stale statistics (the whole backlog, per batch) and, for a small
    log like this one, chooses with fresh ones too: a stream's read is never planned so."""
    if service.store.backend != "postgresql":
        pytest.skip("a PostgreSQL plan")
    rare = ("secret.read", "secret.rotated")
    api.ingest(
        *[make_event(i, action=rare[i % 2] if i % 50 == 0 else "card.moved") for i in range(300)]
    )
    store = service.store
    with store.pool.connection() as conn:  # type: ignore[attr-defined]
        conn.execute("ANALYZE events")
    tenant = service.tenancy.tenant(api.tenant)
    for query in (EventQuery(), EventQuery(action=rare), EventQuery(action=("card.moved",))):
        planned = store._stream_sql(tenant.id, query, 10, 1000)  # type: ignore[attr-defined]
        assert planned is not None
        sql, params = planned
        explained = store._stream_rows_fetch("EXPLAIN " + sql, params)  # type: ignore[attr-defined]
        plan = [row[0] for row in explained]
        assert not [line for line in plan if "Sort" in line], plan
        assert any("Index" in line for line in plan), plan
        rows = store.stream_rows(tenant.id, query, 10, 1000)
        views = store.page(tenant.id, replace(query, order="asc"), 10, 1000)
        assert [row[1] for row in rows] == [view["seq"] for view in views]
