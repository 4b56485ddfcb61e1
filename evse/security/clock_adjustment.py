"""SettingSystemTime (OCPP 2.0.1 A04, ClockCtrlr.TimeAdjustmentReportingThreshold): the clock the station
takes from the CSMS, and a security event when that moves it further than the threshold."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from evse.clock import Clock

log = logging.getLogger(__name__)

# The wall clock is the system time plus the CSMS's offset (evse/clock.py), and timers, schedules and validity
# checks add to it and subtract from it. A schema-valid currentTime at an end of the calendar
# (9999-12-31T23:59:59Z, 0001-01-01T00:00:00Z: found by the 1.6 fuzz) made the clock itself raise OverflowError
# a second later, and a valid GetCompositeSchedule an InternalError. Such a time is not taken; the message that
# carried it counts otherwise (the boot is accepted, the heartbeat answered).
EARLIEST_CSMS_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_CSMS_TIME = datetime(9000, 1, 1, tzinfo=UTC)


class ReportingClock:
    """A Clock whose ``set_now`` reports a jump larger than ``threshold()`` seconds through ``report``, and
    does not take a time outside EARLIEST_CSMS_TIME..LATEST_CSMS_TIME.

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
        aware = utc if utc.tzinfo is not None else utc.replace(tzinfo=UTC)
        if not EARLIEST_CSMS_TIME <= aware < LATEST_CSMS_TIME:
            log.warning("CSMS time %s is outside the years the station keeps time in: not taken", utc)
            return
        before = self._clock.now()
        self._clock.set_now(utc)
        jump = (aware - before).total_seconds()
        if abs(jump) > self._threshold():
            self._report("SettingSystemTime", f"clock set from the CSMS, moved {jump:+.1f}s")
