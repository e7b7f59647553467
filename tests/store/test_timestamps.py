from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from listwatch.store.timestamps import as_utc


def test_naive_database_times_are_utc_and_aware_ones_are_kept() -> None:
    assert as_utc(datetime(2026, 11, 25, 10, 0)) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert as_utc(datetime(2026, 11, 25, 10, 0)).tzinfo is UTC
    paris = datetime(2026, 11, 25, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(paris) is paris
    assert as_utc(None) is None
