"""Managing API keys and reading the audit log (admin role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from listwatch.api.auth import Principal, require
from listwatch.api.errors import ERROR_RESPONSES
from listwatch.api.keys import ROLES, create_key, list_keys, revoke_key
from listwatch.store import keys as key_rows

router = APIRouter(prefix="/api/v1", tags=["Administration"], responses=ERROR_RESPONSES)
Admin = Annotated[Principal, Depends(require("admin"))]


class NewKey(BaseModel):
    name: str = Field(..., min_length=1, max_length=64, examples=["screening-bot"])
    role: str = Field("viewer", examples=list(ROLES))


@router.get("/keys")
def keys(request: Request, _principal: Admin) -> list[dict[str, Any]]:
    """Every API key, revoked ones included (never the secrets)."""
    return [k.to_dict() for k in list_keys(request.app.state.store)]


@router.post("/keys", status_code=201)
def new_key(request: Request, body: NewKey, principal: Admin) -> dict[str, Any]:
    """Create a key; the answer holds its secret, shown this once."""
    created = create_key(
        request.app.state.store, body.name, role=body.role, created_by=f"api:{principal.name}"
    )
    request.state.audit = {"key": body.name, "role": body.role}
    return created.to_dict()


@router.delete("/keys/{name}")
def revoke(request: Request, name: str, _principal: Admin) -> dict[str, Any]:
    """Revoke a key: requests with it are refused from now on."""
    request.state.audit = {"key": name}
    revoked = revoke_key(request.app.state.store, name)
    request.app.state.key_cache.forget(name)  # refused from the next request on, not after the cache's delay
    return revoked.to_dict()


@router.get("/audit")
def audit(
    request: Request, _principal: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The newest changing requests: when, which key, what, with what outcome."""
    with request.app.state.store.engine.connect() as conn:
        rows = key_rows.recent_audit(conn, limit=limit)
    return [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "key": r.key_name,
            "role": r.role,
            "method": r.method,
            "path": r.path,
            "status": r.status,
            "detail": r.detail,
        }
        for r in rows
    ]
