"""Rendering pages: one autoescaping Jinja2 environment, security headers, and the CSRF token.

Every page goes through `page(request, "search.html", {...})`. Autoescape is on for every
template; only SVG drawn by matplotlib is marked safe (`Markup`), never text from a request.

CSRF: a random token lives in the `listwatch_csrf` cookie (HttpOnly, SameSite=Strict); every form
posts it back in a hidden `csrf` field (scripts send the `X-CSRF-Token` header) and `check_csrf`
compares the two. With the SameSite=Strict session cookie this is belt and braces.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from listwatch.api.keys import role_allows
from listwatch.errors import ListwatchError

__all__ = [
    "CSRF_COOKIE",
    "SECURITY_HEADERS",
    "check_csrf",
    "error_page",
    "page",
    "svg",
]

TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE = "listwatch_csrf"

#: Sent with every page: scripts and styles from this app only (inline <style> is allowed for the
#: matplotlib SVG charts, which carry their own), no framing, no referrer to the lists' sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["label"] = lambda value: str(value or "").replace("_", " ")
# A source link from a list file is shown only when it is http(s): never `javascript:` or `data:`.
_env.filters["href"] = lambda url: (
    url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else ""
)


def short_citation(text: str) -> str:
    """ "EO 13959 s.1(a)(i): from 9:30 ... ; 85 FR 73185" -> "EO 13959 s.1(a)(i); 85 FR 73185": tables
    show where the rule is (the link's title and docs/rules.md say what it says)."""
    head, _, rest = text.partition(":")
    last = rest.rpartition(";")[2].strip()
    return f"{head}; {last}" if " FR " in last else head


_env.filters["short_citation"] = short_citation


_CHARTS = threading.Lock()


def svg(draw: Callable[[], str]) -> Markup:
    """Inline SVG drawn by matplotlib (which escapes the text it draws) for a template.

    One chart at a time: the chart functions set matplotlib's process-wide rcParams while drawing,
    and pages are served from several threads."""
    with _CHARTS:
        return Markup(draw())


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a new one `page` will set."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) > 100:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a POST whose form field or `X-CSRF-Token` header does not match the cookie."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    given = submitted or request.headers.get("x-csrf-token") or ""
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise HTTPException(
            status_code=403, detail="the form is stale or was sent from another site: reload it"
        )


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render `template` with the common context (principal, CSRF token, current path)."""
    principal = getattr(request.state, "principal", None)
    token = csrf_token(request)
    body = _env.get_template(template).render(
        request=request,
        principal=principal,
        csrf=token,
        path=request.url.path,
        can_review=_allows(principal, "analyst"),
        **context,
    )
    response = HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


def error_page(request: Request, exc: ListwatchError, *, title: str = "Not found") -> HTMLResponse:
    """A listwatch error as a page with its message and HTTP status (never a traceback)."""
    status = int(getattr(exc, "status", 400))
    return page(request, "error.html", {"title": title, "message": str(exc)}, status_code=status)


def _allows(principal: Any, needed: str) -> bool:
    return principal is not None and role_allows(str(principal.role), needed)
