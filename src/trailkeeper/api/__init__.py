"""The HTTP interface: an app factory over a ``Trailkeeper`` service."""

from trailkeeper.api.app import create_app

__all__ = ["create_app"]
