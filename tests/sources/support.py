"""Look-ups the source tests share; nothing here stands in for listwatch code."""

from __future__ import annotations

from listwatch.model import ParsedList, Record, SourceEvent


def find_record(parsed: ParsedList, key: str) -> Record:
    return next(record for record in parsed.records if record.key == key)


def events_of(parsed: ParsedList, key: str) -> list[SourceEvent]:
    return [event for event in parsed.events or () if event.record_key == key]
