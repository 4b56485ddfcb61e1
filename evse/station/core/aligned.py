"""Clock-aligned meter-value scheduling (OCPP 2.0.1 J01): when a Sample.Clock reading is due, and where it goes.

AlignedDataCtrlr.Interval (and AlignedDataCtrlr.TxEndedInterval) is "the size of the set of evenly spaced
aggregation intervals per day, starting at 00:00:00": 900 s cuts each day into 96 quarter hours. Days are
counted in UTC, the time base of every OCPP timestamp, so a station's schedule does not move with daylight
saving time. An interval that does not divide 86 400 s restarts at midnight, which makes the last interval
of each day shorter (7000 s gives 00:00, 01:56:40, ... 23:20, then 00:00 again); an interval longer than a
day degenerates to one slot per day.

OCTT checks that clock-aligned MeterValue timestamps are aligned (TC_J_01..03), so a sample read a little
after the boundary is stamped with the boundary (:func:`aligned_slot`), not with the reading time.

Where the sample goes (J01, AlignedDataCtrlr.SendDuringIdle): outside a transaction it is a MeterValuesRequest;
on an EVSE with a transaction it is a TransactionEventRequest (eventType Updated, triggerReason MeterValueClock,
context Sample.Clock); and with SendDuringIdle true the station sends no clock-aligned values at all while any
transaction is ongoing (J01.FR.20 as EVerest reads it: "any transaction", station-wide).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

_DAY: Final = timedelta(days=1)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: clock-aligned times need a time zone (UTC)")
    return moment.astimezone(UTC)


def _check_interval(interval_s: int) -> timedelta:
    if interval_s <= 0:
        raise ValueError(f"clock-aligned interval must be positive, got {interval_s} s (0 means disabled)")
    return timedelta(seconds=interval_s)


def aligned_slot(now_utc: datetime, interval_s: int) -> datetime:
    """The latest aligned boundary at or before `now_utc` (UTC): the timestamp a sample taken now carries."""
    now = _utc(now_utc)
    step = _check_interval(interval_s)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((now - midnight) // step) * step


def next_aligned(now_utc: datetime, interval_s: int) -> datetime:
    """The first aligned boundary strictly after `now_utc` (UTC); midnight always is one."""
    now = _utc(now_utc)
    step = _check_interval(interval_s)
    slot = aligned_slot(now, interval_s)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(slot + step, midnight + _DAY)


def aligned_due(last_sent: datetime, now: datetime, interval_s: int) -> bool:
    """Whether a clock-aligned sample is due: `now` lies in a later slot than `last_sent`.

    `last_sent` is when the previous sample was taken (or when the schedule started, so that starting
    does not send at once). An interval of 0 or less means disabled and is never due. Several missed
    boundaries (the station was busy or off) make one sample, not a burst: a meter cannot be read in the
    past. A wall clock set backwards into an earlier slot also counts as due, so a corrected clock never
    silences the schedule until it catches up with the old time.
    """
    if interval_s <= 0:
        return False
    return aligned_slot(now, interval_s) != aligned_slot(last_sent, interval_s)


class AlignedRoute(StrEnum):
    """The message a clock-aligned sample of one EVSE travels in."""

    METER_VALUES = "MeterValues"  # no transaction on this EVSE
    TRANSACTION_EVENT = "TransactionEvent"  # Updated, triggerReason MeterValueClock, context Sample.Clock


def clock_aligned_route(
    *, evse_in_transaction: bool, any_transaction: bool, send_during_idle: bool
) -> AlignedRoute | None:
    """Where an EVSE's clock-aligned sample goes, or None when it must not be sent (SendDuringIdle, J01)."""
    if send_during_idle and any_transaction:
        return None
    return AlignedRoute.TRANSACTION_EVENT if evse_in_transaction else AlignedRoute.METER_VALUES
