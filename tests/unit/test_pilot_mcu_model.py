"""The safety MCU's reference behaviour (hil/emulators/mcu_model.py), frames and time in, frames out."""

from __future__ import annotations

from drivers.interfaces import PilotState
from drivers.pilot.framing import Frame
from drivers.pilot.messages import (
    HeartbeatReply,
    Hello,
    HelloReply,
    McuFault,
    MsgType,
    Nack,
    NackCode,
    SetPwm,
    Status,
    StatusFlag,
)
from hil.emulators.mcu_model import McuConfig, McuModel

CONFIG = McuConfig(heartbeat_timeout_ms=500, status_period_ms=100)


def hello(model: McuModel, now: float, version: tuple[int, int] = (1, 0), seq: int = 1) -> list[Frame]:
    return model.receive(Frame(MsgType.HELLO, seq, Hello(version).payload()), now)


def set_pwm(model: McuModel, duty: int, now: float, seq: int = 5) -> Frame:
    (reply,) = model.receive(Frame(MsgType.SET_PWM, seq, SetPwm(duty).payload()), now)
    return reply


def test_power_on_is_the_safe_state() -> None:
    model = McuModel(CONFIG)
    status = model.status()
    assert status.cp_state is PilotState.F
    assert status.duty_permille == 0
    assert StatusFlag.SAFE_STATE in status.flags
    reply = set_pwm(model, 267, 0.0)
    assert (reply.type, Nack.parse(reply.payload).code) == (MsgType.NACK, NackCode.NOT_READY)


def test_hello_answers_with_identity_then_status_and_leaves_the_safe_state() -> None:
    model = McuModel(CONFIG)
    model.ev_state = PilotState.B
    reply, status = hello(model, 0.0, seq=42)
    assert (reply.type, reply.seq) == (MsgType.HELLO_REPLY, 42)
    assert HelloReply.parse(reply.payload).heartbeat_timeout_ms == 500
    parsed = Status.parse(status.payload)
    assert parsed.cp_state is PilotState.B
    assert parsed.duty_permille == 1000
    assert StatusFlag.SAFE_STATE not in parsed.flags


def test_incompatible_major_is_answered_but_stays_safe() -> None:
    model = McuModel(CONFIG)
    reply, _ = hello(model, 0.0, version=(2, 0))
    assert HelloReply.parse(reply.payload).protocol == (1, 0)
    assert model.safe


def test_set_pwm_acks_valid_duties_and_refuses_others() -> None:
    model = McuModel(CONFIG)
    hello(model, 0.0)
    assert set_pwm(model, 267, 0.01).type == MsgType.ACK
    assert model.duty_permille == 267
    bad = set_pwm(model, 970, 0.02)
    assert Nack.parse(bad.payload).code == NackCode.BAD_VALUE
    assert model.duty_permille == 267
    short = model.receive(Frame(MsgType.SET_PWM, 6, b"\x01"), 0.03)[0]
    assert Nack.parse(short.payload).code == NackCode.BAD_LENGTH
    unknown = model.receive(Frame(0x33, 7), 0.04)[0]
    assert Nack.parse(unknown.payload).code == NackCode.UNKNOWN_TYPE


def test_relay_enable_needs_c_pwm_no_rcd_and_not_safe() -> None:
    model = McuModel(CONFIG)
    hello(model, 0.0)
    model.contactor_requested = True
    model.ev_state = PilotState.C
    assert not model.relay_closed  # no PWM offer yet
    set_pwm(model, 267, 0.0)
    assert model.relay_closed
    model.rcd_tripped = True
    assert not model.relay_enabled
    model.rcd_tripped = False
    model.ev_state = PilotState.B
    assert not model.relay_enabled


def test_watchdog_opens_the_relay_and_only_hello_recovers() -> None:
    model = McuModel(CONFIG)
    hello(model, 0.0)
    model.ev_state = PilotState.C
    model.contactor_requested = True
    set_pwm(model, 533, 0.0)
    model.receive(Frame(MsgType.HEARTBEAT, 9), 0.4)
    assert model.tick(0.85) == [] or not model.safe  # fed at 0.4 s: not yet
    assert not model.safe
    (status_frame,) = model.tick(0.95)
    status = Status.parse(status_frame.payload)
    assert model.safe and not model.relay_closed
    assert status.cp_state is PilotState.F
    assert McuFault.HEARTBEAT_LOST in status.faults
    assert StatusFlag.SAFE_STATE in status.flags
    model.receive(Frame(MsgType.HEARTBEAT, 10), 1.0)
    assert model.safe  # a heartbeat does not leave the safe state
    assert Nack.parse(set_pwm(model, 533, 1.0).payload).code == NackCode.NOT_READY
    hello(model, 1.1)
    assert not model.safe
    assert McuFault.HEARTBEAT_LOST not in model.faults


def test_heartbeat_answered_with_same_seq_and_uptime() -> None:
    model = McuModel(CONFIG)
    model.uptime_origin = 10.0
    (reply,) = model.receive(Frame(MsgType.HEARTBEAT, 77), 12.5)
    assert (reply.type, reply.seq) == (MsgType.HEARTBEAT_REPLY, 77)
    assert HeartbeatReply.parse(reply.payload).uptime_ms == 2500


def test_status_on_change_and_periodically() -> None:
    model = McuModel(CONFIG)
    hello(model, 0.0)
    assert model.tick(0.05) == []
    assert len(model.tick(0.11)) == 1  # period
    model.ev_state = PilotState.B
    model.touch()
    assert Status.parse(model.tick(0.12)[0].payload).cp_state is PilotState.B  # change, at once
    assert model.tick(0.13) == []


def test_echoed_frames_are_ignored_and_do_not_feed_the_watchdog() -> None:
    model = McuModel(CONFIG)
    hello(model, 0.0)
    assert model.receive(Frame(MsgType.STATUS, 1, b""), 0.4) == []
    model.tick(0.6)
    assert model.safe


def test_fault_hooks_nack_and_ignore() -> None:
    model = McuModel(CONFIG)
    hello(model, 0.0)
    model.nack_next.append(NackCode.BAD_VALUE)
    assert Nack.parse(set_pwm(model, 267, 0.0).payload).code == NackCode.BAD_VALUE
    assert set_pwm(model, 267, 0.0).type == MsgType.ACK
    model.ignore_requests = 1
    assert model.receive(Frame(MsgType.SET_PWM, 8, SetPwm(300).payload()), 0.0) == []
    assert model.duty_permille == 267
