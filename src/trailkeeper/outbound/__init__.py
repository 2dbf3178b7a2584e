"""Everything trailkeeper sends out (webhooks, SIEM streams) goes through here:
destinations are checked when accepted and again when connecting, so a URL can
never be used to reach the deployment's own network (SSRF)."""

from trailkeeper.outbound.http import GuardedBackend, GuardedTransport, outbound_client
from trailkeeper.outbound.safety import DestinationRefused, check_destination, resolve_host

__all__ = [
    "DestinationRefused",
    "GuardedBackend",
    "GuardedTransport",
    "check_destination",
    "outbound_client",
    "resolve_host",
]
