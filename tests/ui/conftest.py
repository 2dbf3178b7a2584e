"""A browser needs a real server on loopback: the UI tests' API client (``api``,
``other_api``) talks to that same server, so pages and API calls share one address."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def client(live_client: httpx.Client) -> httpx.Client:
    return live_client
