"""Checkpoints, proofs and the verifier key (CONTRACT section 8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from trailkeeper.api.deps import Reader, Service
from trailkeeper.api.openapi import errors
from trailkeeper.api.responses import JSON
from trailkeeper.api.schemas import Checkpoint, ConsistencyProof, InclusionProof, PublicKey
from trailkeeper.service.integrity import checkpoint_view

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["integrity"])

Size = Annotated[int, Query(ge=0, le=2**62)]


@router.get(
    "/public-key",
    summary="The verifier key that checks checkpoint signatures",
    response_model=PublicKey,
)
def public_key(service: Service) -> JSON:
    """Needs no token: auditors check checkpoints and export manifests with it offline."""
    integrity = service.integrity
    return JSON(
        {
            "verifier_key": integrity.verifier_key,
            "key_name": integrity.signer.name,
            "algorithm": "ed25519",
        }
    )


@router.get(
    "/checkpoints/latest",
    summary="The latest signed checkpoint of this tenant's log",
    response_model=Checkpoint,
    responses=errors(404),
)
def latest_checkpoint(principal: Reader, service: Service) -> JSON:
    """A C2SP signed note over the tree size and root hash; 404 before the first
    checkpoint. Scope `audit-log:list`."""
    return JSON(checkpoint_view(service.integrity.latest(principal.tenant.id)))


@router.post(
    "/checkpoints",
    status_code=201,
    summary="Integrate and sign a checkpoint now (on demand)",
    response_model=Checkpoint,
    responses=errors(404),
)
async def new_checkpoint(principal: Reader, service: Service) -> JSON:
    """Without waiting for the background interval; 404 while the log has no event.
    Scope `audit-log:list`."""
    await run_in_threadpool(service.integrity.sync, principal.tenant.id)
    return JSON(checkpoint_view(service.integrity.latest(principal.tenant.id)), status_code=201)


@router.get(
    "/proofs/inclusion",
    summary="RFC 9162 inclusion proof of one event",
    response_model=InclusionProof,
    responses=errors(404),
)
def inclusion_proof(
    principal: Reader,
    service: Service,
    seq: Size,
    tree_size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> JSON:
    """The hashes from the leaf at `seq` to the root of the tree of `tree_size` (default:
    the latest checkpoint's). Scope `audit-log:list`."""
    integrity = service.integrity
    tenant_id = principal.tenant.id
    size = integrity.latest(tenant_id).size if tree_size is None else tree_size
    hashes = integrity.inclusion_hashes(tenant_id, seq, size)
    return JSON(
        {
            "seq": seq,
            "tree_size": size,
            "hashes": [h.hex() for h in hashes],
            "root_hash": integrity.root_at(tenant_id, size).hex(),
        }
    )


@router.get(
    "/proofs/consistency",
    summary="RFC 9162 consistency proof between two tree sizes",
    response_model=ConsistencyProof,
    responses=errors(404),
)
def consistency_proof(principal: Reader, service: Service, first: Size, second: Size) -> JSON:
    """Proves the tree of `second` extends the tree of `first`. Scope `audit-log:list`."""
    integrity = service.integrity
    tenant_id = principal.tenant.id
    hashes = integrity.consistency_hashes(tenant_id, first, second)
    return JSON(
        {
            "first": first,
            "second": second,
            "hashes": [h.hex() for h in hashes],
            "first_root_hash": integrity.root_at(tenant_id, first).hex(),
            "second_root_hash": integrity.root_at(tenant_id, second).hex(),
        }
    )
