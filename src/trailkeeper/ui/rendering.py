"""The Jinja2 environment (autoescape on for every template) and ``render``."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from trailkeeper import __version__
from trailkeeper.ui import views

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["FRAGMENT_HEADER", "is_fragment", "render"]

FRAGMENT_HEADER = "x-tk-fragment"
"""Sent by the page's script: answer with the part of the page it replaces."""


@cache
def _environment() -> Environment:
    """Built (and Jinja2 imported) at the first page, not when the API starts."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("trailkeeper.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        humanize=views.humanize,
        badge=views.badge,
        ago=views.relative_time,
        pretty=views.pretty_json,
        compact=views.compact_json,
        quote_path=views.quote_path,
    )
    env.globals["version"] = __version__
    return env


def is_fragment(request: Request) -> bool:
    return request.headers.get(FRAGMENT_HEADER) is not None


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("session", getattr(request.state, "ui_session", None))
    context.setdefault("error", None)
    context["request_path"] = request.url.path
    context["now"] = datetime.now(UTC)
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Vary": "X-TK-Fragment"})
