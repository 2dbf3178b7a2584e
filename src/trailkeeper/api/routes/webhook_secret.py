"""``/v1/webhook-secret``: the tenant's Standard Webhooks secret (scope ``admin``).

The secret signs every webhook of the tenant, so replacing it is an admin's act; the new
secret is returned once, in the answer, and never again."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from trailkeeper.api.deps import Administrator, Service
from trailkeeper.api.responses import JSON

__all__ = ["WebhookSecret", "router"]


class WebhookSecret(BaseModel):
    """The tenant's new ``whsec_`` secret, shown in this answer only."""

    tenant: str
    webhook_secret: str


router = APIRouter(prefix="/v1/webhook-secret", tags=["webhooks"])


@router.post(
    "/rotate",
    summary="Replace the tenant's webhook secret; the new one is shown only in this response",
    response_model=WebhookSecret,
)
def rotate_webhook_secret(principal: Administrator, service: Service) -> JSON:
    """Replace the tenant's Standard Webhooks secret. Every delivery sent from now on,
    retries included, is signed with the new secret only; recorded in the tenant's log
    as ``trailkeeper.webhook_secret.rotated`` (never the secret itself)."""
    return JSON(service.tenancy.rotate_webhook_secret(principal.tenant, principal))
