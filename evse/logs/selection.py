"""Which log entries a GetLog asked for: those whose time lies in [oldestTimestamp, latestTimestamp].

Both ends are optional and inclusive. A diagnostics record may span several lines (a traceback, a PEM
block someone logged): the lines that do not start with a timestamp belong to the record before them and
go wherever it goes. Lines before the first timestamp of a file (the tail of a record cut by rotation)
have no time and are left out when a window is asked for. Pure functions: the caller reads the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}:\d{2})")


def line_time(line: str) -> datetime | None:
    """The UTC time a record's first line starts with, None for a continuation line."""
    match = _STAMP.match(line)
    if match is None:
        return None
    return parse_time(match.group(1) + match.group(2))


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def in_window(moment: datetime | None, oldest: datetime | None, latest: datetime | None) -> bool:
    if moment is None:
        return oldest is None and latest is None
    return (oldest is None or moment >= oldest) and (latest is None or moment <= latest)


def select_lines(lines: Iterable[str], oldest: datetime | None, latest: datetime | None) -> Iterator[str]:
    """The lines of the records in the window, in file order (lines keep their newline)."""
    keep = oldest is None and latest is None
    for line in lines:
        moment = line_time(line)
        if moment is not None:
            keep = in_window(moment, oldest, latest)
        if keep:
            yield line


def select_records(
    records: Iterable[dict[str, Any]], oldest: datetime | None, latest: datetime | None
) -> Iterator[dict[str, Any]]:
    """Security log records (their "timestamp" field) in the window."""
    for record in records:
        stamp = record.get("timestamp")
        moment = parse_time(stamp) if isinstance(stamp, str) else None
        if in_window(moment, oldest, latest):
            yield record
