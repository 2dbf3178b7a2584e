"""What a stream reads (raw rows, their JSON from the export path's writer) is the
event as the API returns it, byte for byte, on both databases; filters and the
cursor select the same events as ``GET /v1/events``."""

from __future__ import annotations

from dataclasses import replace

import orjson

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
