"""Signed screening certificates: what was screened, against which list versions, when, and the outcome.

A certificate is one JSON file:

    {"listwatch_certificate": 1,
     "payload": {...},
     "signature": {"algorithm": "Ed25519", "public_key": BASE64, "key_fingerprint": "sha256:HEX",
                   "value": BASE64}}

The signature covers the payload's canonical form: JSON with keys sorted, no whitespace, UTF-8,
non-ASCII characters as themselves (`canonical_bytes`); scores are rounded to 4 decimals so every
JSON library writes them alike. Changing any value of the payload breaks the signature; the
embedded public key only proves integrity, so `verify_certificate(..., public_key=...)` also checks
the signer against a key the verifier trusts.

    cert = issue_certificate(store, "run-0001", key_dir=settings.signing_key_dir())
    verify_certificate_text(json.dumps(cert), source="cert.json").run  # 'run-0001'
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidCertificate, SigningKeyError
from listwatch.screening.runs import SOFTWARE, ScreeningRun, load_run
from listwatch.screening.signing import key_fingerprint, load_or_create_key, read_public_key, signature_holds
from listwatch.store import Store
from listwatch.store.audit import run_label

__all__ = [
    "CERTIFICATE_VERSION",
    "Verification",
    "canonical_bytes",
    "certificate_payload",
    "issue_certificate",
    "verify_certificate",
    "verify_certificate_text",
    "write_certificate",
]

CERTIFICATE_VERSION = 1


def canonical_bytes(payload: Any) -> bytes:
    """The bytes a certificate's signature covers."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def certificate_payload(run: ScreeningRun, *, issued_at: datetime) -> dict[str, Any]:
    """What a certificate states about `run` (the signed part)."""
    summary = run.summary()
    rows = []
    for row in run.rows:
        if row.error:
            result = "not screened"
        elif not row.hits:
            result = "no hits"
        elif any(h.status.open for h in row.hits):
            result = "hits"
        else:
            result = "hits, all dismissed as false positives"
        rows.append(
            {
                "row": row.row_number,
                "key": row.key,
                "query": row.names,
                "result": result,
                "error": row.error,
                "hits": [
                    {
                        "hit": h.number,
                        "entity_id": h.entity_id,
                        "caption": h.caption,
                        "list": h.list_id,
                        "score": round(h.score, 4),
                        "match": h.match,
                        "record_fingerprint": h.fingerprint,
                        "review": h.status.state,
                        "review_id": h.status.review.review_id if h.status.review else None,
                        "explanation": h.summary,
                    }
                    for h in row.hits
                ],
            }
        )
    if summary["not_screened"] == summary["rows"] and summary["rows"]:
        outcome = "no row could be screened"
    elif summary["hits"] == 0:
        outcome = "no hits"
    else:
        outcome = (
            f"{summary['rows_with_open_hits']} of {summary['rows']} rows with open hits "
            f"({summary['hits']} hits, {summary['dismissed']} dismissed as false positives)"
        )
    return {
        "type": "listwatch screening certificate",
        "issued_at": issued_at.isoformat(),
        "issued_by": SOFTWARE,
        "run": run.label,
        "rerun_of": run_label(run.rerun_of) if run.rerun_of else None,
        "analyst": run.analyst,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "screened": {**run.input.to_dict(), "rows": summary["rows"]},
        "as_of": run.as_of.isoformat(),
        "parameters": run.parameters.to_dict(),
        "software": run.software,
        "lists": [
            {
                "list": s.list_id,
                "title": s.list_title,
                "snapshot": s.snapshot_id,
                "sha256": s.sha256,
                "published": s.published.isoformat(),
            }
            for s in run.snapshots
        ],
        "basis_sha256": run.basis_sha256,
        "outcome": outcome,
        "summary": summary,
        "rows": rows,
    }


def issue_certificate(store: Store, run: str, *, key_dir: Path) -> dict[str, Any]:
    """The signed certificate of stored run `run`, as a JSON-ready dict; creates the key if needed."""
    found = load_run(store, run)
    key = load_or_create_key(key_dir)
    payload = certificate_payload(found, issued_at=datetime.now(UTC))
    return {
        "listwatch_certificate": CERTIFICATE_VERSION,
        "payload": payload,
        "signature": {
            "algorithm": "Ed25519",
            "public_key": key.public_b64,
            "key_fingerprint": key.fingerprint,
            "value": key.sign(canonical_bytes(payload)),
        },
    }


@dataclass(frozen=True)
class Verification:
    """A certificate whose signature holds."""

    run: str
    issued_at: str
    outcome: str
    key_fingerprint: str
    pinned: bool  # checked against a key the verifier named, not only the embedded one
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": True,
            "run": self.run,
            "issued_at": self.issued_at,
            "outcome": self.outcome,
            "key_fingerprint": self.key_fingerprint,
            "pinned": self.pinned,
        }


def verify_certificate(path: Path, *, public_key: Path | None = None) -> Verification:
    """Check the certificate in `path`; `InvalidCertificate` says why it does not hold."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidCertificate(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidCertificate(path, f"cannot read it as UTF-8 text ({exc})") from None
    return verify_certificate_text(text, source=path, public_key=public_key)


def verify_certificate_text(
    text: str, *, source: Path | str = "<certificate>", public_key: Path | None = None
) -> Verification:
    """Check a certificate given as text (`source` names it in errors); see `verify_certificate`."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCertificate(source, f"not JSON, truncated or damaged ({exc})") from None
    if not isinstance(document, dict) or "listwatch_certificate" not in document:
        raise InvalidCertificate(source, "not a listwatch certificate (no 'listwatch_certificate' field)")
    if document["listwatch_certificate"] != CERTIFICATE_VERSION:
        raise InvalidCertificate(source, f"unknown certificate version {document['listwatch_certificate']!r}")
    payload, signature = document.get("payload"), document.get("signature")
    if not isinstance(payload, dict) or not isinstance(signature, dict):
        raise InvalidCertificate(source, "the 'payload' or 'signature' part is missing")
    if signature.get("algorithm") != "Ed25519":
        raise InvalidCertificate(source, f"unsupported signature algorithm {signature.get('algorithm')!r}")
    try:
        embedded = base64.b64decode(str(signature.get("public_key", "")), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCertificate(source, "the embedded public key is not base64") from None
    fingerprint = key_fingerprint(embedded)
    if signature.get("key_fingerprint") != fingerprint:
        raise InvalidCertificate(source, "the stated key fingerprint is not that of the embedded public key")
    if public_key is not None:
        try:
            trusted = read_public_key(public_key)
        except SigningKeyError as exc:
            raise InvalidCertificate(source, f"--public-key: {exc}") from None
        if trusted != embedded:
            raise InvalidCertificate(
                source, f"signed by key {fingerprint}, not by the given key {key_fingerprint(trusted)}"
            )
    try:
        holds = signature_holds(embedded, str(signature.get("value", "")), canonical_bytes(payload))
    except ValueError as exc:
        raise InvalidCertificate(source, str(exc)) from None
    if not holds:
        raise InvalidCertificate(
            source, "the signature does not match the payload: it was changed after signing"
        )
    return Verification(
        run=str(payload.get("run")),
        issued_at=str(payload.get("issued_at")),
        outcome=str(payload.get("outcome")),
        key_fingerprint=fingerprint,
        pinned=public_key is not None,
        payload=payload,
    )


def write_certificate(certificate: dict[str, Any], path: Path) -> None:
    """Write atomically (a temp file renamed into place), indented for reading."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(certificate, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
