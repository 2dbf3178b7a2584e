"""The web UI (CONTRACT section 6): server-rendered pages over the service's use cases."""

from trailkeeper.ui.app import create_ui, ui_mount

__all__ = ["create_ui", "ui_mount"]
