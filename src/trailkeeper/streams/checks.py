"""Outbound safety for stream destinations, when a stream is made: every URL and
host in the config must be one trailkeeper may send to (CONTRACT, "Outbound
safety"); each is checked again when connecting."""

from __future__ import annotations

from pydantic import BaseModel

from trailkeeper.errors import InvalidRequest
from trailkeeper.outbound.safety import check_addresses, check_destination, resolve_host
from trailkeeper.streams.config import SyslogConfig

__all__ = ["check_config_destinations"]

_URL_FIELDS = ("url", "endpoint", "authority_url", "endpoint_url")


def check_config_destinations(config: BaseModel, allow_private: bool) -> None:
    """Raise a 400 naming the field when a destination is refused."""
    for name in _URL_FIELDS:
        value = getattr(config, name, None)
        if value is None:
            continue
        try:
            check_destination(value, allow_private=allow_private)
        except InvalidRequest as exc:
            raise InvalidRequest(
                f"'config.{name}': {exc.message}",
                [{"field": f"config.{name}", "message": exc.message}],
            ) from None
    if isinstance(config, SyslogConfig):
        try:
            check_addresses(
                config.host, resolve_host(config.host, config.port), allow_private=allow_private
            )
        except InvalidRequest as exc:
            raise InvalidRequest(
                f"'config.host': {exc.message}",
                [{"field": "config.host", "message": exc.message}],
            ) from None
