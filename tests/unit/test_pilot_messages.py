"""Payloads of the safety-MCU protocol (drivers/pilot/messages.py) and the events a STATUS means."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.interfaces import (
    CableCapacityChanged,
    FaultCleared,
    FaultRaised,
    PilotState,
    PilotStateChanged,
)
from drivers.pilot.messages import (
    Ack,
    HeartbeatReply,
    Hello,
    HelloReply,
    McuFault,
    MessageError,
    Nack,
    NackCode,
    SetPwm,
    Status,
    StatusFlag,
    is_valid_duty,
)
from drivers.pilot.status_events import status_events

statuses = st.builds(
    Status,
    cp_state=st.sampled_from(list(PilotState)),
    cp_voltage_mv=st.integers(-32768, 32767),
    duty_permille=st.integers(0, 1000),
    pp_current_a=st.one_of(st.none(), st.integers(1, 255)),
    flags=st.integers(0, 0xFF).map(StatusFlag),
    faults=st.integers(0, 0xFFFF).map(McuFault),
    temperature_c=st.integers(-3000, 3000).map(lambda d: d / 10),
)


@given(statuses)
def test_status_round_trip(status: Status) -> None:
    assert Status.parse(status.payload()) == status


@given(statuses, st.binary(max_size=8))
def test_a_newer_minor_version_may_append_fields(status: Status, tail: bytes) -> None:
    assert Status.parse(status.payload() + tail) == status


def test_status_refuses_short_payload_and_bad_values() -> None:
    good = Status(PilotState.B, 9000, 1000, None, StatusFlag(0), McuFault(0), 20.0).payload()
    with pytest.raises(MessageError, match="needs 11"):
        Status.parse(good[:-1])
    with pytest.raises(MessageError, match="CP state"):
        Status.parse(b"G" + good[1:])
    with pytest.raises(MessageError, match="duty"):
        Status.parse(good[:3] + (1001).to_bytes(2, "big") + good[5:])


def test_status_pp_zero_means_no_cable() -> None:
    status = Status(PilotState.A, 12000, 1000, None, StatusFlag(0), McuFault(0), 20.0)
    assert status.payload()[5] == 0
    assert Status.parse(status.payload()).pp_current_a is None


def test_other_messages_round_trip() -> None:
    reply = HelloReply((1, 3), (2, 0, 7), 1500, bytes(range(12)))
    assert HelloReply.parse(reply.payload()) == reply
    assert reply.firmware_version == "2.0.7"
    assert reply.serial_hex == "000102030405060708090A0B"
    assert Hello.parse(Hello((1, 0)).payload()) == Hello((1, 0))
    assert HeartbeatReply.parse(HeartbeatReply(2**32 - 1).payload()).uptime_ms == 2**32 - 1
    assert SetPwm.parse(SetPwm(533).payload()) == SetPwm(533)
    assert Ack.parse(Ack(3).payload()) == Ack(3)
    assert Nack.parse(Nack(3, NackCode.BAD_VALUE).payload()).reason == "BAD_VALUE"
    assert Nack(3, 0x7F).reason == "code 0x7F"


@pytest.mark.parametrize("parse", [Hello.parse, HelloReply.parse, HeartbeatReply.parse, SetPwm.parse, Ack.parse])
def test_short_payloads_are_refused(parse: object) -> None:
    with pytest.raises(MessageError):
        parse(b"")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("duty", "valid"),
    [(0, True), (50, True), (99, False), (100, True), (960, True), (961, False), (1000, True), (1001, False)],
)
def test_duties_the_mcu_generates(duty: int, valid: bool) -> None:
    assert is_valid_duty(duty) is valid


# ---- status_events -----------------------------------------------------------------------------

IDLE = Status(PilotState.A, 12000, 1000, None, StatusFlag(0), McuFault(0), 25.0)


def test_first_status_reports_everything_watched() -> None:
    events = status_events(1, None, IDLE)
    assert events == [PilotStateChanged(1, PilotState.A), CableCapacityChanged(1, None)]


def test_first_status_reports_active_faults_first() -> None:
    status = Status(PilotState.B, 9000, 1000, 32, StatusFlag.RCD_TRIPPED, McuFault.OVER_TEMPERATURE, 90.0)
    events = status_events(2, None, status)
    assert [type(e) for e in events] == [FaultRaised, FaultRaised, PilotStateChanged, CableCapacityChanged]
    assert {e.name for e in events if isinstance(e, FaultRaised)} == {"rcd_trip", "over_temperature"}
    assert events[-1] == CableCapacityChanged(2, 32.0)


def test_only_changes_are_reported() -> None:
    plugged = Status(PilotState.B, 9000, 1000, 32, StatusFlag(0), McuFault(0), 25.0)
    assert status_events(1, IDLE, plugged) == [PilotStateChanged(1, PilotState.B), CableCapacityChanged(1, 32.0)]
    warmer = Status(PilotState.B, 8900, 267, 32, StatusFlag.RELAY_ENABLED, McuFault(0), 26.0)
    assert status_events(1, plugged, warmer) == []


def test_rcd_trip_raised_before_the_state_change_and_cleared_after() -> None:
    charging = Status(PilotState.C, 6000, 267, 32, StatusFlag.RELAY_ENABLED, McuFault(0), 25.0)
    tripped = Status(PilotState.B, 9000, 267, 32, StatusFlag.RCD_TRIPPED, McuFault(0), 25.0)
    events = status_events(1, charging, tripped)
    assert events[0] == FaultRaised(1, "rcd_trip", "safety MCU: residual current device tripped")
    assert events[1] == PilotStateChanged(1, PilotState.B)
    reset = Status(PilotState.C, 6000, 267, 32, StatusFlag(0), McuFault(0), 25.0)
    assert status_events(1, tripped, reset) == [PilotStateChanged(1, PilotState.C), FaultCleared(1, "rcd_trip")]


def test_heartbeat_lost_is_not_a_fault_event_of_its_own() -> None:
    safe = Status(PilotState.F, -12000, 0, None, StatusFlag.SAFE_STATE, McuFault.HEARTBEAT_LOST, 25.0)
    assert status_events(1, IDLE, safe) == [PilotStateChanged(1, PilotState.F)]


@pytest.mark.parametrize(
    ("bit", "name"),
    [
        (McuFault.DIODE_MISSING, "pilot_diode_missing"),
        (McuFault.RELAY_WELDED, "contactor_welded"),
        (McuFault.OVER_TEMPERATURE, "over_temperature"),
        (McuFault.SELF_TEST_FAILED, "safety_mcu_self_test"),
    ],
)
def test_mcu_fault_bits_become_named_faults(bit: McuFault, name: str) -> None:
    faulty = Status(PilotState.A, 12000, 1000, None, StatusFlag(0), bit, 25.0)
    raised = status_events(1, IDLE, faulty)
    assert [(type(e), getattr(e, "name", None)) for e in raised] == [(FaultRaised, name)]
    assert status_events(1, faulty, IDLE) == [FaultCleared(1, name)]
