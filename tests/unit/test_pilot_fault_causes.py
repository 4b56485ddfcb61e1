"""One fault name fed by several causes (drivers/pilot/fault_causes.py)."""

from __future__ import annotations

from drivers.interfaces import DriverEvent, FaultCleared, FaultRaised
from drivers.pilot.fault_causes import CausedFault


def test_raised_by_the_first_cause_cleared_by_the_last() -> None:
    events: list[DriverEvent] = []
    fault = CausedFault(1, "pilot_failure", "test")
    fault.attach(events.append)
    fault.add("link", "MCU silent")
    fault.add("command", "NACK")
    fault.add("link", "handshake failed")  # a new detail is not a new fault
    assert events == [FaultRaised(1, "pilot_failure", "MCU silent")]
    fault.remove("link")
    assert len(events) == 1  # the command still fails
    fault.remove("command")
    assert events[-1] == FaultCleared(1, "pilot_failure")
    fault.remove("command")
    assert len(events) == 2


def test_nobody_listening_then_a_new_listener_hears_what_still_stands() -> None:
    fault = CausedFault(2, "pilot_failure", "test")
    fault.add("command", "not connected")  # before run(): no sink
    events: list[DriverEvent] = []
    fault.attach(events.append)
    assert events == [FaultRaised(2, "pilot_failure", "not connected")]
    fault.attach(None)  # run() ended
    fault.remove("command")
    assert len(events) == 1  # nobody to tell
    later: list[DriverEvent] = []
    fault.attach(later.append)
    assert later == []  # nothing stands any more


def test_clear_without_raise_is_never_sent() -> None:
    events: list[DriverEvent] = []
    fault = CausedFault(1, "pilot_failure", "test")
    fault.attach(events.append)
    fault.remove("link")
    assert events == []
