"""``/v1/tokens``: manage a tenant's API tokens (scope ``tokens:manage``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from trailkeeper.api.deps import Service, TokenManager
from trailkeeper.api.openapi import errors
from trailkeeper.api.responses import JSON
from trailkeeper.api.schemas import CreatedToken, TokenInfo, TokenPage
from trailkeeper.auth.tokens import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128, pattern="^[^\\u0000]*$")
    # Checked by the service, whose message lists the scopes.
    scopes: list[str] = Field(
        min_length=1,
        max_length=7,
        json_schema_extra={"items": {"type": "string", "enum": [s.value for s in Scope]}},
    )


@router.post(
    "",
    status_code=201,
    summary="Create a token; it is shown only in this response",
    response_model=CreatedToken,
)
def create_token(body: NewToken, principal: TokenManager, service: Service) -> JSON:
    """Only the token's hash is kept. Scope `tokens:manage`."""
    created = service.tenancy.create_token(principal.tenant, body.name, body.scopes, principal)
    return JSON(created, status_code=201)


@router.get("", summary="List tokens (never the tokens themselves)", response_model=TokenPage)
def list_tokens(principal: TokenManager, service: Service) -> JSON:
    """Every token of the tenant, revoked ones included. Scope `tokens:manage`."""
    return JSON({"data": service.tenancy.list_tokens(principal.tenant)})


@router.delete(
    "/{token_id}", summary="Revoke a token", response_model=TokenInfo, responses=errors(404)
)
def revoke_token(
    principal: TokenManager, service: Service, token_id: Annotated[str, Path(max_length=64)]
) -> JSON:
    """Refused at once by every process; revoking again changes nothing. Scope
    `tokens:manage`."""
    return JSON(service.tenancy.revoke_token(principal.tenant, token_id, principal))
