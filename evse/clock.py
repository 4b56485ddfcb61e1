"""One injectable clock: monotonic time for timers, UTC wall time for OCPP timestamps.

The station takes its wall clock from the CSMS (BootNotification/Heartbeat currentTime) without
touching the system clock: it keeps an offset instead, so tests and unprivileged runs behave alike.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the station needs to know about time."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def set_now(self, utc: datetime) -> None: ...


class SystemClock:
    """The real clock, with the CSMS time applied as an offset to the system's UTC time."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set_now(self, utc: datetime) -> None:
        if utc.tzinfo is None:
            utc = utc.replace(tzinfo=UTC)
        self._offset = utc - datetime.now(UTC)


def ocpp_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and a Z, the form OCPP-J messages use."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
