"""``/v1/tokens``: manage a tenant's API tokens (scope ``tokens:manage``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from trailkeeper.api.deps import Service, TokenManager
from trailkeeper.api.responses import JSON

__all__ = ["router"]

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    scopes: list[str] = Field(min_length=1, max_length=7)


@router.post("", status_code=201, summary="Create a token; it is shown only in this response")
def create_token(body: NewToken, principal: TokenManager, service: Service) -> JSON:
    created = service.tenancy.create_token(principal.tenant, body.name, body.scopes, principal)
    return JSON(created, status_code=201)


@router.get("", summary="List tokens (never the tokens themselves)")
def list_tokens(principal: TokenManager, service: Service) -> JSON:
    return JSON({"data": service.tenancy.list_tokens(principal.tenant)})


@router.delete("/{token_id}", summary="Revoke a token")
def revoke_token(
    principal: TokenManager, service: Service, token_id: Annotated[str, Path(max_length=64)]
) -> JSON:
    return JSON(service.tenancy.revoke_token(principal.tenant, token_id, principal))
