"""Signed certificates of screening runs: they verify, and any change to what they state breaks them."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import InvalidCertificate, SigningKeyError
from listwatch.registry.snapshots import ingest
from listwatch.screening.batches import screen_file
from listwatch.screening.certificates import issue_certificate, verify_certificate
from listwatch.screening.reviews import record_review
from listwatch.screening.runs import RunParameters, ScreeningRun
from listwatch.screening.signing import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, load_or_create_key
from listwatch.store import Store
from tests.conftest import CCMC_1237
from tests.screening.support import CCMC, CHINA_MOBILE_GROUP, PARTIES, XIAOMI, cli


@pytest.fixture
def run(store: Store, tmp_path: Path) -> ScreeningRun:
    ingest(store, [CCMC_1237], list_id=CCMC)
    parties = tmp_path / "parties.csv"
    parties.write_text(PARTIES, encoding="utf-8")
    params = RunParameters(as_of=date(2021, 2, 1), lists=(CCMC,), key_column="id")
    return screen_file(store, parties, parameters=params, analyst="ana", cache_dir=tmp_path / "cache")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"COLUMNS": "200", "LISTWATCH_KEY_DIR": str(tmp_path / "keys")}


def issue(db_url: str, env: dict[str, str], run: ScreeningRun, out: Path) -> dict[str, object]:
    result = cli(db_url, env, "certificate", run.label, "--out", str(out))
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_a_certificate_states_input_lists_parameters_and_outcome(
    store: Store, run: ScreeningRun, tmp_path: Path
) -> None:
    record_review(store, run.label, "2", decision="false_positive", comment="subsidiary", analyst="bo")
    cert = issue_certificate(store, run.label, key_dir=tmp_path / "keys")
    payload = cert["payload"]
    parties = tmp_path / "parties.csv"
    assert payload["run"] == run.label and payload["analyst"] == "ana"
    assert payload["screened"] == {
        "name": "parties.csv",
        "sha256": hashlib.sha256(parties.read_bytes()).hexdigest(),
        "bytes": parties.stat().st_size,
        "rows": 5,
    }
    (listed,) = payload["lists"]
    assert listed["list"] == CCMC and listed["snapshot"] == 1 and listed["published"] == "2021-06-03"
    assert listed["sha256"] == run.snapshots[0].sha256
    assert payload["as_of"] == "2021-02-01" and payload["parameters"]["threshold"] == 0.7
    results = {row["key"]: row for row in payload["rows"]}
    assert results["A1"]["result"] == "hits" and results["A1"]["hits"][0]["entity_id"] == XIAOMI
    assert results["A2"]["result"] == "hits, all dismissed as false positives"
    assert results["A2"]["hits"][0]["entity_id"] == CHINA_MOBILE_GROUP
    assert results["A2"]["hits"][0]["review"] == "dismissed"
    assert results["A3"]["result"] == "no hits" and results["A5"]["result"] == "not screened"
    assert payload["outcome"].startswith("1 of 5 rows with open hits")
    assert cert["signature"]["algorithm"] == "Ed25519"


def test_a_certificate_verifies_with_its_key_and_the_key_file_is_private(
    store: Store, db_url: str, env: dict[str, str], run: ScreeningRun, tmp_path: Path
) -> None:
    cert = issue(db_url, env, run, tmp_path / "cert.json")
    keys = tmp_path / "keys"
    assert stat.S_IMODE((keys / PRIVATE_KEY_FILE).stat().st_mode) == 0o600
    assert cert["signature"]["key_fingerprint"] == load_or_create_key(keys).fingerprint  # type: ignore[index]
    plain = cli(db_url, env, "verify", str(tmp_path / "cert.json"))
    assert plain.exit_code == 0, plain.output
    assert plain.output.startswith("valid") and run.label in plain.output
    pinned = cli(
        db_url, env, "verify", str(tmp_path / "cert.json"), "--public-key", str(keys / PUBLIC_KEY_FILE)
    )
    assert pinned.exit_code == 0 and "the given public key" in pinned.output
    second = issue(db_url, env, run, tmp_path / "again.json")  # the same key, not a new one
    assert second["signature"]["key_fingerprint"] == cert["signature"]["key_fingerprint"]  # type: ignore[index]


def test_changing_one_byte_of_the_payload_breaks_the_signature(
    store: Store, db_url: str, env: dict[str, str], run: ScreeningRun, tmp_path: Path
) -> None:
    path = tmp_path / "cert.json"
    issue(db_url, env, run, path)
    data = path.read_bytes()
    digest = run.input.sha256.encode()
    at = data.index(digest)  # the input's SHA-256 as the payload states it
    flipped = b"0" if data[at : at + 1] != b"0" else b"1"
    path.write_bytes(data[:at] + flipped + data[at + 1 :])
    result = cli(db_url, env, "verify", str(path))
    assert result.exit_code == 1
    assert result.output.startswith("error:") and "signature does not match the payload" in result.output
    with pytest.raises(InvalidCertificate, match="changed after signing"):
        verify_certificate(path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "truncated or damaged"),  # the real certificate cut in half
        (b"\x00\x01garbage", "not JSON"),
        (b'{"hello": "world"}', "not a listwatch certificate"),
        (b'{"listwatch_certificate": 1, "payload": {}}', "'signature' part is missing"),
    ],
)
def test_a_damaged_certificate_is_refused_with_a_clear_reason(
    store: Store, db_url: str, env: dict[str, str], run: ScreeningRun, tmp_path: Path,
    content: bytes | None, fragment: str,
) -> None:  # fmt: skip
    path = tmp_path / "cert.json"
    issue(db_url, env, run, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if content is None else content)
    result = cli(db_url, env, "verify", str(path))
    assert result.exit_code == 1 and result.output.startswith("error:"), result.output
    assert len(result.output.strip().splitlines()) == 1 and fragment in result.output, result.output


def test_a_certificate_signed_by_another_key_fails_against_the_trusted_key(
    store: Store, db_url: str, env: dict[str, str], run: ScreeningRun, tmp_path: Path
) -> None:
    issue(db_url, env, run, tmp_path / "cert.json")
    other = load_or_create_key(tmp_path / "other-keys")
    result = cli(db_url, env, "verify", str(tmp_path / "cert.json"), "--public-key", str(other.public_path))
    assert result.exit_code == 1 and "not by the given key" in result.output
    missing = cli(db_url, env, "verify", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_a_signing_key_others_can_read_is_refused(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "keys")
    key.path.chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_or_create_key(tmp_path / "keys")
