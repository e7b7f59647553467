"""The Ed25519 key that signs screening certificates, kept outside the database.

The key is generated on first use in the key folder (`Settings.signing_key_dir()`: LISTWATCH_KEY_DIR,
else the user config folder, e.g. ~/.config/listwatch/keys) as `signing-key.pem` (PKCS#8, mode
0600, folder 0700) beside `signing-key.pub.pem` to hand to whoever verifies. Someone who can write
the database cannot forge a certificate without this file; a key file others can read is refused,
as ssh does.

    key = load_or_create_key(Path("~/.config/listwatch/keys").expanduser())
    key.fingerprint  # 'sha256:3f1c...'
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from listwatch.errors import SigningKeyError

__all__ = [
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "SigningKey",
    "key_fingerprint",
    "load_or_create_key",
    "read_public_key",
    "signature_holds",
]

PRIVATE_KEY_FILE = "signing-key.pem"
PUBLIC_KEY_FILE = "signing-key.pub.pem"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    path: Path  # the private key file

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(*_RAW)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_raw)

    @property
    def public_path(self) -> Path:
        return self.path.with_name(PUBLIC_KEY_FILE)

    def sign(self, data: bytes) -> str:
        """The base64 Ed25519 signature of `data`."""
        return base64.b64encode(self.private.sign(data)).decode("ascii")


def key_fingerprint(public_raw: bytes) -> str:
    """`sha256:` and the hex SHA-256 of the raw 32-byte public key."""
    return "sha256:" + hashlib.sha256(public_raw).hexdigest()


def load_or_create_key(key_dir: Path) -> SigningKey:
    """The signing key in `key_dir`, generated there (with its public half) when there is none."""
    path = key_dir / PRIVATE_KEY_FILE
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningKeyError(
            f"{path} can be read by others (mode {mode:o}); run `chmod 600 {path}` or move it away"
        )
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a readable private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    key = SigningKey(private, path)
    if not key.public_path.exists():
        _write_public(key)
    return key


def _create(path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    except OSError as exc:
        raise SigningKeyError(f"cannot create the signing key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    _write_public(SigningKey(private, path))


def _write_public(key: SigningKey) -> None:
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    partial = key.public_path.with_name(key.public_path.name + ".partial")
    try:
        partial.write_bytes(pem)
        partial.replace(key.public_path)
    except OSError as exc:
        raise SigningKeyError(f"cannot write {key.public_path}: {exc.strerror}") from None


def read_public_key(path: Path) -> bytes:
    """The raw 32-byte Ed25519 key in a PEM file (as written beside the signing key)."""
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise SigningKeyError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise SigningKeyError(f"{path} is not a PEM public key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return loaded.public_bytes(*_RAW)


def signature_holds(public_raw: bytes, signature_b64: str, data: bytes) -> bool:
    """Whether `signature_b64` is a valid Ed25519 signature of `data` by `public_raw`.

    Raises `ValueError` when the key or signature is malformed (not merely wrong)."""
    try:
        public = Ed25519PublicKey.from_public_bytes(public_raw)
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"malformed key or signature ({exc})") from None
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
