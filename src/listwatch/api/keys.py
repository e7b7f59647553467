"""API keys: created with a role, shown once, stored as the SHA-256 of the secret, revoked by name.

No FastAPI here: `listwatch keys ...` and the API's authentication both call these functions.

    created = create_key(store, "screening-bot", role="analyst", created_by="alice")
    created.secret          # "lw_..."; printed once, never stored
    authenticate(store, created.secret)  # Principal(name="screening-bot", role="analyst")

The API keeps the keys it has seen in a `KeyCache` for a few seconds, so that a request under load
costs a hash and a dict lookup, not a database read.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.store import Store
from listwatch.store import keys as key_rows

__all__ = [
    "ROLES",
    "CreatedKey",
    "KeyCache",
    "KeyInfo",
    "Principal",
    "UnknownKey",
    "authenticate",
    "authenticate_digest",
    "create_key",
    "hash_secret",
    "list_keys",
    "revoke_key",
    "role_allows",
    "well_formed",
]

#: Roles from least to most: viewer reads; analyst also screens and reviews; admin also ingests and
#: manages keys.
ROLES = ("viewer", "analyst", "admin")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_PREFIX = "lw_"


class UnknownKey(ListwatchError):
    status = 404

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no active API key named {name!r}; see `listwatch keys list`")


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the key's name and role (`anonymous` under open read access)."""

    name: str
    role: str


@dataclass(frozen=True)
class KeyInfo:
    name: str
    role: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


@dataclass(frozen=True)
class CreatedKey:
    info: KeyInfo
    secret: str  # shown once to the operator; only its hash is stored

    def to_dict(self) -> dict[str, Any]:
        return {**self.info.to_dict(), "secret": self.secret}


def role_allows(role: str, needed: str) -> bool:
    """True when `role` is `needed` or above it in `ROLES`."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_secret(secret: str) -> str:
    # The secret carries 256 random bits, so a plain SHA-256 cannot be brute-forced; no salt needed.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        name=row.name,
        role=row.role,
        prefix=row.prefix,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def create_key(store: Store, name: str, *, role: str, created_by: str) -> CreatedKey:
    """A new key for `name` with `role`; refuses a bad name or role, or a name already active."""
    if not _NAME.match(name):
        raise InvalidQuery(
            f"key name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    if role not in ROLES:
        raise InvalidQuery(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    secret = _PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = {
        "name": name,
        "role": role,
        "secret_sha256": hash_secret(secret),
        "prefix": secret[:10],
        "created_at": now,
        "created_by": created_by,
    }
    with store.engine.begin() as conn:
        if key_rows.active_key_by_name(conn, name) is not None:
            raise InvalidQuery(f"an active API key named {name!r} exists; revoke it first")
        key_rows.insert_key(conn, row)
    info = KeyInfo(name, role, str(row["prefix"]), now, created_by, None, None)
    return CreatedKey(info=info, secret=secret)


def list_keys(store: Store, *, include_revoked: bool = True) -> list[KeyInfo]:
    with store.engine.connect() as conn:
        return [_info(row) for row in key_rows.all_keys(conn, include_revoked=include_revoked)]


def revoke_key(store: Store, name: str) -> KeyInfo:
    """Revoke the active key `name`; requests with it are refused from then on."""
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        row = key_rows.active_key_by_name(conn, name)
        if row is None:
            raise UnknownKey(name)
        key_rows.revoke_key(conn, row.id, at=now)
    info = _info(row)
    return KeyInfo(
        info.name, info.role, info.prefix, info.created_at, info.created_by, now, info.last_used_at
    )


def well_formed(secret: str) -> bool:
    """Could this be one of our secrets? (Anything else is refused without a database read.)"""
    return secret.startswith(_PREFIX) and len(secret) <= 200


def authenticate(store: Store, secret: str) -> tuple[int, Principal] | None:
    """The key's id and principal for a secret, or None when it is unknown or revoked."""
    if not well_formed(secret):
        return None
    return authenticate_digest(store, hash_secret(secret))


def authenticate_digest(store: Store, secret_sha256: str) -> tuple[int, Principal] | None:
    """`authenticate` for a secret already hashed (`hash_secret`)."""
    with store.engine.connect() as conn:
        row = key_rows.active_key_by_secret(conn, secret_sha256)
    if row is None:
        return None
    return int(row.id), Principal(name=row.name, role=row.role)


class KeyCache:
    """Active keys recently seen, by the SHA-256 of their secret, each kept for `ttl_s` seconds.

    Only keys found active are kept (an unknown key is looked up every time). A key revoked
    through this process (`forget`) is refused at once; one revoked elsewhere (the CLI, another
    worker) within `ttl_s`. `ttl_s=0` turns the cache off.

        cache = KeyCache(ttl_s=5.0)
        cache.get(digest) or cache.put(digest, authenticate_digest(store, digest))
    """

    def __init__(self, ttl_s: float = 5.0, *, max_keys: int = 10_000) -> None:
        self.ttl_s, self.max_keys = ttl_s, max_keys
        self._found: dict[str, tuple[float, int, Principal]] = {}  # digest -> (until, key id, principal)
        self._lock = threading.Lock()

    def get(self, secret_sha256: str) -> tuple[int, Principal] | None:
        """The cached key id and principal, or None when not cached (or expired)."""
        found = self._found.get(secret_sha256)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1], found[2]

    def put(self, secret_sha256: str, found: tuple[int, Principal] | None) -> tuple[int, Principal] | None:
        """Remember an active key (None, an unknown key, is not remembered); returns `found`."""
        if found is not None and self.ttl_s > 0:
            with self._lock:
                if len(self._found) >= self.max_keys:
                    self._found.clear()  # a flood of distinct keys: start over rather than grow
                self._found[secret_sha256] = (time.monotonic() + self.ttl_s, found[0], found[1])
        return found

    def forget(self, name: str) -> None:
        """Drop the key `name` (just revoked): its next request is checked in the database."""
        with self._lock:
            for digest in [d for d, (_, _, p) in self._found.items() if p.name == name]:
                del self._found[digest]


def mark_used(store: Store, key_id: int) -> None:
    with store.engine.begin() as conn:
        key_rows.touch_key(conn, key_id, at=datetime.now(UTC))
