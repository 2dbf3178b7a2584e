"""Checkpoints and proofs over HTTP, checked by a verifier written here from the
RFC 9162 and C2SP texts (it imports nothing from trailkeeper)."""

from __future__ import annotations

from typing import Any

import pytest

from rfc9162 import open_checkpoint, rfc_root_from_inclusion, rfc_verify_consistency
from support import Api, make_event


def _fill(api: Api, count: int) -> list[dict[str, Any]]:
    return api.ingest(*(make_event(i) for i in range(count)))


def test_checkpoint_is_signed_and_proofs_verify(api: Api) -> None:
    receipts = _fill(api, 37)
    created = api.post("/v1/checkpoints")
    assert created.status_code == 201
    checkpoint = api.get("/v1/checkpoints/latest").json()
    key = api.client.get("/v1/public-key").json()["verifier_key"]
    origin, size, root = open_checkpoint(checkpoint["checkpoint"], key)
    assert origin == f"trailkeeper/{api.tenant}"
    assert size == checkpoint["tree_size"] == 38  # the admin token's self-audit event + 37
    assert root.hex() == checkpoint["root_hash"]
    for receipt in receipts[::5]:
        proof = api.get(
            "/v1/proofs/inclusion", params={"seq": receipt["seq"], "tree_size": size}
        ).json()
        path = [bytes.fromhex(h) for h in proof["hashes"]]
        leaf = bytes.fromhex(receipt["leaf_hash"])
        assert rfc_root_from_inclusion(receipt["seq"], size, leaf, path) == root


def test_consistency_between_checkpoints(api: Api) -> None:
    key = api.client.get("/v1/public-key").json()["verifier_key"]
    _fill(api, 5)
    old = api.post("/v1/checkpoints").json()
    api.ingest(*(make_event(100 + i) for i in range(20)))
    new = api.post("/v1/checkpoints").json()
    _, size1, root1 = open_checkpoint(old["checkpoint"], key)
    _, size2, root2 = open_checkpoint(new["checkpoint"], key)
    body = api.get("/v1/proofs/consistency", params={"first": size1, "second": size2}).json()
    path = [bytes.fromhex(h) for h in body["hashes"]]
    assert rfc_verify_consistency(size1, size2, root1, root2, path)
    assert not rfc_verify_consistency(size1, size2, root1, root2[::-1], path)


def test_event_with_proof(api: Api) -> None:
    _fill(api, 3)
    assert api.get("/v1/events/evt-1", params={"proof": "true"}).json()["proof"] is None
    api.post("/v1/checkpoints")
    event = api.get("/v1/events/evt-1", params={"proof": "true"}).json()
    proof = event["proof"]
    root = rfc_root_from_inclusion(
        event["seq"],
        proof["tree_size"],
        bytes.fromhex(event["leaf_hash"]),
        [bytes.fromhex(h) for h in proof["hashes"]],
    )
    assert root.hex() == proof["root_hash"]
    assert "proof" not in api.get("/v1/events/evt-1").json()


def test_no_checkpoint_yet_is_404(api: Api) -> None:
    assert api.get("/v1/checkpoints/latest").status_code == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/proofs/inclusion", {"seq": 5, "tree_size": 5}),
        ("/v1/proofs/inclusion", {"seq": -1, "tree_size": 3}),
        ("/v1/proofs/inclusion", {"seq": 0, "tree_size": 999}),
        ("/v1/proofs/inclusion", {"seq": "x"}),
        ("/v1/proofs/consistency", {"first": 4, "second": 2}),
        ("/v1/proofs/consistency", {"first": 1, "second": 10**6}),
        ("/v1/proofs/consistency", {"first": 1}),
    ],
)
def test_bad_proof_requests_are_400(api: Api, path: str, params: dict[str, Any]) -> None:
    _fill(api, 5)
    api.post("/v1/checkpoints")
    response = api.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]


def test_background_worker_publishes_checkpoints(api: Api, service: Any) -> None:
    _fill(api, 10)
    assert service.integrity.run_once() >= 1
    assert api.get("/v1/checkpoints/latest").json()["tree_size"] == 11
