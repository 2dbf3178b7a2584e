"""Entry point for ``serve --workers N``: uvicorn starts N processes, and each
builds its own service from the ``TRAILKEEPER_*`` variables its parent set."""

from __future__ import annotations

from fastapi import FastAPI

from trailkeeper.api.app import create_app
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

__all__ = ["app_from_environment"]


def app_from_environment() -> FastAPI:
    return create_app(Trailkeeper.open(Settings()))
