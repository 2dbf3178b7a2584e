"""Where exported files go: the data dir (served by trailkeeper through signed
links) or an S3 bucket (presigned URLs). Chosen once, from the settings."""

from __future__ import annotations

from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.objectstores.base import ObjectStore
from trailkeeper.objectstores.keys import InvalidObjectKey, check_key, file_name, object_key
from trailkeeper.objectstores.links import PURPOSE
from trailkeeper.objectstores.local import LocalObjectStore
from trailkeeper.objectstores.media import content_disposition, media_type
from trailkeeper.settings import Settings

__all__ = [
    "EXPORTS_DIR",
    "InvalidObjectKey",
    "LocalObjectStore",
    "ObjectStore",
    "check_key",
    "content_disposition",
    "file_name",
    "media_type",
    "object_key",
    "open_object_store",
]

EXPORTS_DIR = "exports"


def open_object_store(settings: Settings, key: DeploymentKey) -> ObjectStore:
    """S3 when ``object_store`` is ``s3://bucket/prefix``, else ``<data_dir>/exports``."""
    if settings.object_store:
        # boto3 costs ~25 MB of RSS: only processes that use S3 import it
        from trailkeeper.objectstores.s3 import S3ObjectStore

        return S3ObjectStore.from_url(settings.object_store, ttl=settings.download_url_ttl)
    return LocalObjectStore(
        settings.data_dir / EXPORTS_DIR, key.derive(PURPOSE), settings.download_url_ttl
    )
