"""SettingSystemTime (OCPP 2.0.1 A04, ClockCtrlr.TimeAdjustmentReportingThreshold): the clock the station
takes from the CSMS, and a security event when that moves it further than the threshold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from evse.clock import Clock


class ReportingClock:
    """A Clock whose ``set_now`` reports a jump larger than ``threshold()`` seconds through ``report``.

    Given to the registrar only (BootNotification and Heartbeat carry the CSMS time): every Heartbeat
    corrects a little drift, and only an adjustment past the threshold is a security event."""

    def __init__(self, clock: Clock, threshold: Callable[[], int], report: Callable[[str, str], None]) -> None:
        self._clock = clock
        self._threshold = threshold
        self._report = report

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def now(self) -> datetime:
        return self._clock.now()

    def set_now(self, utc: datetime) -> None:
        before = self._clock.now()
        self._clock.set_now(utc)
        jump = ((utc if utc.tzinfo is not None else utc.replace(tzinfo=UTC)) - before).total_seconds()
        if abs(jump) > self._threshold():
            self._report("SettingSystemTime", f"clock set from the CSMS, moved {jump:+.1f}s")
