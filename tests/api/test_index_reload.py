"""The shared match index follows ingests without downtime: old answers until the new one is ready."""

from __future__ import annotations

import time
from pathlib import Path

from listwatch.registry.snapshots import ingest
from listwatch.store import Store
from tests.api.support import CCMC, XIAOMI, bearer, client_for, example, make_keys
from tests.conftest import CCMC_1237, UN_2018_10


def test_new_snapshot_is_served_after_a_background_reload(store: Store, db_url: str, tmp_path: Path) -> None:
    ingest(store, [UN_2018_10])
    viewer = bearer(make_keys(store)["viewer"])
    body = {"queries": {"q": example("Xiaomi Corporation")}}
    with client_for(db_url, tmp_path, reload_every_s=0) as client:
        pool = client.app.state.screeners  # type: ignore[attr-defined]
        first = client.post("/match/default", headers=viewer, params={"as_of": "2021-02-01"}, json=body)
        assert first.status_code == 200 and all(
            r["id"] != XIAOMI for r in first.json()["responses"]["q"]["results"]
        )
        ingest(store, [CCMC_1237], list_id=CCMC)
        found, codes = False, []
        deadline = time.monotonic() + 120
        while not found and time.monotonic() < deadline:
            response = client.post(
                "/match/default", headers=viewer, params={"as_of": "2021-02-01"}, json=body
            )
            codes.append(response.status_code)
            found = any(r["id"] == XIAOMI for r in response.json()["responses"]["q"]["results"])
            time.sleep(0.05)
        assert found, "the new snapshot was never served"
        assert set(codes) == {200}  # no request failed or waited for an error while reloading
        assert pool.reloads >= 1
