"""Signing in to the web UI: the login page takes an API key and keeps it in a cookie.

The cookie is the one `listwatch.api.auth` reads (`listwatch_key`, HttpOnly, SameSite=Strict), so a
page and its JSON twin see the same principal. A page without a valid key redirects to /login;
a page needing a higher role answers 403.

    @router.get("/runs")
    def runs_page(request: Request, principal: Principal = Depends(page_principal("viewer"))): ...
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from listwatch.api.auth import COOKIE, current_principal, demand_role
from listwatch.api.keys import Principal, authenticate
from listwatch.errors import ListwatchError
from listwatch.store import Store
from listwatch.web.render import check_csrf, error_page, page

__all__ = [
    "Analyst",
    "LoginRequired",
    "Viewer",
    "WebRoute",
    "page_principal",
    "router",
    "safe_next",
    "store_of",
]


class LoginRequired(Exception):
    """Raised by `page_principal` when the request carries no valid key; answered with a redirect."""

    def __init__(self, next_path: str, reason: str) -> None:
        super().__init__(reason)
        self.next_path = next_path
        self.reason = reason


class WebRoute(APIRoute):
    """A page route: no login redirects to /login, and HTTP errors are pages, not the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)
            except HTTPException as exc:
                if exc.status_code == 429:  # with its Retry-After header, as the API answers it
                    raise
                titles = {403: "Not allowed", 404: "Not found"}
                context = {"title": titles.get(exc.status_code, "Error"), "message": str(exc.detail)}
                return page(request, "error.html", context, status_code=exc.status_code)
            except ListwatchError as exc:  # one a page did not expect: its message, never a traceback
                return error_page(request, exc, title="Error")

        return route


router = APIRouter(route_class=WebRoute)


def store_of(request: Request) -> Store:
    """The app's store (opened once by `create_app`)."""
    store: Store = request.app.state.store
    return store


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another site, a scheme) is the home page."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def page_principal(role: str) -> Callable[[Request], Principal]:
    """A dependency for pages: the principal (at least `role`), else a redirect to /login."""

    def dependency(request: Request) -> Principal:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            principal = current_principal(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                raise LoginRequired(here, str(exc.detail)) from None
            raise
        return demand_role(principal, role)

    dependency.__name__ = f"page_{role}"
    return dependency


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    found = authenticate(store_of(request), key.strip()) if key.strip() else None
    if found is None:
        error = "That key is unknown or revoked." if key.strip() else "Enter an API key."
        return page(request, "login.html", {"next": safe_next(next), "error": error}, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


Viewer = Annotated[Principal, Depends(page_principal("viewer"))]
Analyst = Annotated[Principal, Depends(page_principal("analyst"))]
