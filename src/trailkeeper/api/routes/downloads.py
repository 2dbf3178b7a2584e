"""Downloads of exported files kept in the data dir, by signed, expiring link.

No bearer token: the link itself is the permission (CONTRACT section 5), the
way an S3 presigned URL is. With an S3 object store this route has nothing to
serve; export download URLs then point at S3."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse

from trailkeeper.api.openapi import errors
from trailkeeper.errors import NotFound
from trailkeeper.objectstores import LocalObjectStore, file_name, media_type

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["exports"])

_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


@router.get(
    "/downloads/{key:path}",
    summary="Download an exported file by its signed link (no token needed)",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file, as an attachment",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in (
                    "application/x-ndjson",
                    "text/csv",
                    "application/gzip",
                    "application/vnd.apache.parquet",
                    "application/json",
                    "application/octet-stream",
                )
            },
        },
        **errors(403, 404),
    },
)
def download(
    request: Request,
    key: str,
    expires: Annotated[int, Query(ge=0, le=2**62, description="Unix time the link expires")],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
) -> FileResponse:
    """The link itself is the permission, as with an S3 presigned URL: 403 when it was
    altered or expired, 404 when the file is gone or the deployment keeps exports in S3."""
    objects = request.app.state.trailkeeper.objects
    if not isinstance(objects, LocalObjectStore):
        raise NotFound(
            "This deployment keeps exports in S3; use the export's download_url "
            "(GET /v1/exports/{id})"
        )
    path = objects.check_download(key, expires, signature)
    name = file_name(key)
    return FileResponse(path, media_type=media_type(name), filename=name, headers=_HEADERS)
