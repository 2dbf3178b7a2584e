"""``/v1/webhook-secret``: the tenant's Standard Webhooks secret (scope ``admin``).

The secret signs every webhook of the tenant, so replacing it is an admin's act; the new
secret is returned once, in the answer, and never again."""

from __future__ import annotations

from fastapi import APIRouter

from trailkeeper.api.deps import Administrator, Service
from trailkeeper.api.responses import JSON

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhook-secret", tags=["webhooks"])


@router.post(
    "/rotate",
    summary="Replace the tenant's webhook secret; the new one is shown only in this response",
)
def rotate_webhook_secret(principal: Administrator, service: Service) -> JSON:
    return JSON(service.tenancy.rotate_webhook_secret(principal.tenant, principal))
