"""Property: whatever the log, the retention points and the erasures, every remaining
event's inclusion proof and every consistency proof between checkpoints verify with
an RFC 9162 verifier written from the text (tests/rfc9162.py), every remaining and
every archived event's leaf hash is what the contract's recipe gives, nothing is
deleted that no archive holds, and the archives plus the remaining events reproduce
every signed checkpoint's root; and the value dictionaries count exactly the remaining
events.

Events get their ``received_at`` from a test clock that starts 200 days ago and moves
one day forward at each retention point, so a retention run (told that "now" is 31
days after the latest of those days) expires exactly the days before the point: the
stored events are never rewritten, so every hash is the one made at ingest."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from profiles import examples
from retention_support import assert_dictionaries_follow
from rfc9162 import open_checkpoint, rfc_root, rfc_root_from_inclusion, rfc_verify_consistency
from support import independent_leaf_hash, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.retention import PolicyRecord
from trailkeeper.storage.tenants import Tenant
from trailkeeper.verify import verify_tenant

ACTORS = ("u_0", "u_1", "u_2")
STORES = ("trailkeeper.storage.sqlite.store", "trailkeeper.storage.postgres.store")
Op = tuple[Any, ...]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.integers(1, 12)),
        st.tuples(st.just("sync")),
        st.tuples(st.just("erase"), st.sampled_from(ACTORS)),
        st.tuples(st.just("retain")),
    ),
    max_size=8,
)


class Clock:
    """What the stores' ``datetime.now`` says while a test runs: a day of our choosing."""

    day = datetime.now(UTC) - timedelta(days=200)

    @staticmethod
    def patched() -> type[datetime]:
        class Patched(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Patched:
                real = datetime.now(tz)
                return cls.combine(Clock.day.date(), real.timetz())

        return Patched


@contextmanager
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Clock]]:
    with monkeypatch.context() as patch:
        for module in STORES:
            patch.setattr(f"{module}.datetime", Clock.patched())
        yield Clock


@dataclass
class Log:
    service: Trailkeeper
    tenant: Tenant
    clock: type[Clock]
    sent: int = 0
    archived: dict[int, str] = field(default_factory=dict)

    def apply(self, op: Op) -> None:
        service, tenant = self.service, self.tenant
        if op[0] == "ingest":
            service.ingest_events(tenant, [self._event(self.sent + i) for i in range(op[1])])
            self.sent += op[1]
        elif op[0] == "sync":
            service.integrity.sync(tenant.id)
        elif op[0] == "erase" and service.store.actor_event_count(tenant.id, op[1]) is not None:
            service.erasures.request(tenant, {"actor_id": op[1]}, "tok_p", "property")
            service.erasures.run_all()
        elif op[0] == "retain":
            self._retain()

    def _event(self, index: int) -> dict[str, Any]:
        actor = ACTORS[index % 3]
        personal = {"id": actor, "name": f"N {actor}", "email": f"{actor}@x.io"}
        made = make_event(index, actor=personal, user_agent=f"ua/{index}")
        made["id"] = f"{self.tenant.name}-{index}"
        return made

    def _retain(self) -> None:
        """A retention point: today's events expire, later ones land on the next day."""
        now = self.clock.day + timedelta(days=31)
        self.clock.day += timedelta(days=1)
        report = self.service.retention.run(self.tenant, now=now)
        assert report is not None
        assert report.error is None, report.error
        for key in report.archives:
            data = gzip.decompress(b"".join(self.service.objects.read_chunks(key)))
            for line in data.splitlines():
                archived = orjson.loads(line)
                archived.pop("pii_salt")
                assert independent_leaf_hash(archived) == archived["leaf_hash"]
                assert archived["seq"] not in self.archived  # each day archived once
                self.archived[archived["seq"]] = archived["leaf_hash"]


def _remaining(service: Trailkeeper, tenant: Tenant) -> dict[int, str]:
    remaining: dict[int, str] = {}
    erased = 0
    for view, salt in service.store.scan(tenant.id):
        assert independent_leaf_hash(view) == view["leaf_hash"]
        remaining[view["seq"]] = view["leaf_hash"]
        erased += salt is None
    event("erased events remain" if erased else "no erased event left")
    return remaining


def _check(log: Log) -> None:
    service, tenant = log.service, log.tenant
    service.integrity.sync(tenant.id)
    remaining = _remaining(service, tenant)
    assert_dictionaries_follow(service, tenant)
    removed = service.store.retention_state(tenant.id).removed_through
    event("events removed" if removed >= 0 else "nothing removed")
    assert sorted(remaining) == list(range(removed + 1, removed + 1 + len(remaining)))
    assert set(range(removed + 1)) <= set(log.archived)  # nothing deleted unarchived
    every = {**log.archived, **remaining}
    leaves = [bytes.fromhex(every[seq]) for seq in range(len(every))]
    checkpoints = service.store.checkpoints(tenant.id)
    for checkpoint in checkpoints:
        _, size, root = open_checkpoint(checkpoint.note, service.integrity.verifier_key)
        assert rfc_root(leaves[:size]) == root == checkpoint.root
    for older, newer in pairwise(checkpoints):
        proof = service.integrity.consistency_hashes(tenant.id, older.size, newer.size)
        assert rfc_verify_consistency(older.size, newer.size, older.root, newer.root, proof)
    report = verify_tenant(service.store, tenant, service.integrity.signer.verifier())
    assert report.ok, report.problems
    assert report.removed == removed + 1
    latest = checkpoints[-1]
    for seq, leaf in remaining.items():
        if seq < latest.size:
            path = service.integrity.inclusion_hashes(tenant.id, seq, latest.size)
            found = rfc_root_from_inclusion(seq, latest.size, bytes.fromhex(leaf), path)
            assert found == latest.root


@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(before=OPS, after=OPS)
def test_proofs_survive_retention_and_erasure(
    service: Trailkeeper, monkeypatch: pytest.MonkeyPatch, before: list[Op], after: list[Op]
) -> None:
    with fake_clock(monkeypatch) as clock:
        clock.day = datetime.now(UTC) - timedelta(days=200)
        created = service.tenancy.create_tenant(f"p-{datetime.now(UTC):%H%M%S%f}")
        tenant = service.tenancy.tenant(created["tenant"])
        service.store.put_retention_policy(tenant.id, PolicyRecord(30, True, False))
        log = Log(service, tenant, clock)
        for op in [*before, ("sync",), ("retain",), *after]:
            log.apply(op)
        _check(log)
