"""The web UI (CONTRACT section 6): server-rendered pages over the service's use cases."""

from trailkeeper.ui.app import create_ui

__all__ = ["create_ui"]
