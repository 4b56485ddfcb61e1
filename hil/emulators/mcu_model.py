"""What the safety MCU's firmware does with the protocol, as a pure model (frames and time in, frames out).

The emulator (hil/emulators/safety_mcu.py) puts this model at the far end of a real serial line; a
firmware author can read it as the reference behaviour of docs/safety-mcu-protocol.md:

* At power-on the MCU is in its safe state: relay enable off, CP held at state F (0 %).
* A HELLO with the MCU's major version leaves the safe state: PWM off (100 %, X1), watchdog armed.
  Any other major is answered (so Linux can say what it met) but leaves the MCU safe.
* Every valid frame from Linux feeds the watchdog. Silent for ``heartbeat_timeout_ms``: back to the
  safe state with fault bit HEARTBEAT_LOST, and SET_PWM is refused (NOT_READY) until the next HELLO.
* Relay enable requires: not safe, RCD not tripped, EV in C or D, and a PWM that offers current.
* STATUS goes out on every change, after every HELLO_REPLY, and every ``status_period_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.interfaces import CHARGING_STATES, PilotState
from drivers.pilot.duty import DUTY_NO_PWM, DUTY_STATE_F
from drivers.pilot.framing import Frame
from drivers.pilot.messages import (
    FROM_MCU,
    PROTOCOL_VERSION,
    Ack,
    HeartbeatReply,
    Hello,
    HelloReply,
    McuFault,
    MessageError,
    MsgType,
    Nack,
    NackCode,
    SetPwm,
    Status,
    StatusFlag,
    is_valid_duty,
)

#: CP high level the MCU measures in each state (IEC 61851-1 nominal values), in millivolts.
NOMINAL_CP_MV = {
    PilotState.A: 12_000,
    PilotState.B: 9_000,
    PilotState.C: 6_000,
    PilotState.D: 3_000,
    PilotState.E: 0,
    PilotState.F: -12_000,
}


@dataclass(frozen=True)
class McuConfig:
    """The fixed facts of one MCU: versions, identity and timing (firmware constants)."""

    protocol: tuple[int, int] = PROTOCOL_VERSION
    firmware: tuple[int, int, int] = (1, 0, 0)
    serial: bytes = bytes.fromhex("0123456789ABCDEF00C0FFEE")
    heartbeat_timeout_ms: int = 1000
    status_period_ms: int | None = 100  # None: STATUS only on change and after HELLO


@dataclass
class McuModel:
    """The MCU's state; inputs are plain attributes (what its ADCs and pins read), set then ``touch()``."""

    config: McuConfig = field(default_factory=McuConfig)
    # inputs: what the MCU measures
    ev_state: PilotState = PilotState.A  # what the EV does to the CP (A..E)
    pp_current_a: int | None = None
    rcd_tripped: bool = False
    faults: McuFault = field(default_factory=lambda: McuFault(0))
    temperature_c: float = 25.0
    contactor_requested: bool = False  # Linux's contactor output, gated by the relay enable
    # outputs and protocol state
    duty_permille: int = DUTY_STATE_F
    safe: bool = True
    uptime_origin: float = 0.0
    nack_next: list[NackCode] = field(default_factory=list)  # fault hook: refuse the next requests
    ignore_requests: int = 0  # fault hook: do not answer the next n requests ...
    ignore_type: int | None = None  # ... of this type (None: of any type)
    _last_rx: float = 0.0
    _next_status: float = 0.0
    _changed: bool = True
    _status_seq: int = 0  # the MCU's own counter for unsolicited frames

    @property
    def cp_state(self) -> PilotState:
        """The state the MCU measures: F while it drives -12 V itself, else what the EV does."""
        return PilotState.F if self.duty_permille == DUTY_STATE_F else self.ev_state

    @property
    def relay_enabled(self) -> bool:
        return (
            not self.safe
            and not self.rcd_tripped
            and self.ev_state in CHARGING_STATES
            and 100 <= self.duty_permille <= 960
        )

    @property
    def relay_closed(self) -> bool:
        """The auxiliary contact: the coil is energised only when Linux asks and the MCU allows."""
        return self.contactor_requested and self.relay_enabled

    def touch(self) -> None:
        """An input changed: report a STATUS at the next tick."""
        self._changed = True

    def status(self) -> Status:
        flags = StatusFlag(0)
        if self.rcd_tripped:
            flags |= StatusFlag.RCD_TRIPPED
        if self.relay_enabled:
            flags |= StatusFlag.RELAY_ENABLED
        if self.relay_closed:
            flags |= StatusFlag.RELAY_CLOSED
        if self.safe:
            flags |= StatusFlag.SAFE_STATE
        return Status(
            cp_state=self.cp_state,
            cp_voltage_mv=NOMINAL_CP_MV[self.cp_state],
            duty_permille=self.duty_permille,
            pp_current_a=self.pp_current_a,
            flags=flags,
            faults=self.faults,
            temperature_c=self.temperature_c,
        )

    def receive(self, frame: Frame, now: float) -> list[Frame]:
        """Handle one valid frame from Linux; the frames to answer with."""
        if frame.type & FROM_MCU:
            return []  # our own frame echoed back: never answer it
        self._last_rx = now
        if self.ignore_requests > 0 and self.ignore_type in (None, frame.type):
            self.ignore_requests -= 1
            return []
        try:
            return self._handle(frame, now)
        except MessageError:
            return [_nack(frame, NackCode.BAD_LENGTH)]

    def _handle(self, frame: Frame, now: float) -> list[Frame]:
        if frame.type == MsgType.HELLO:
            return self._hello(frame, Hello.parse(frame.payload), now)
        if frame.type == MsgType.HEARTBEAT:
            uptime = HeartbeatReply(int((now - self.uptime_origin) * 1000))
            return [Frame(MsgType.HEARTBEAT_REPLY, frame.seq, uptime.payload())]
        if frame.type == MsgType.SET_PWM:
            return [self._set_pwm(frame, SetPwm.parse(frame.payload))]
        return [_nack(frame, NackCode.UNKNOWN_TYPE)]

    def _hello(self, frame: Frame, hello: Hello, now: float) -> list[Frame]:
        cfg = self.config
        reply = HelloReply(cfg.protocol, cfg.firmware, cfg.heartbeat_timeout_ms, cfg.serial)
        if hello.version[0] == cfg.protocol[0]:
            self.safe = False
            self.faults &= ~McuFault.HEARTBEAT_LOST
            self.duty_permille = DUTY_NO_PWM
        else:
            self._enter_safe_state(heartbeat_lost=False)
        self._changed = False
        self._next_status = now + self._period()
        return [Frame(MsgType.HELLO_REPLY, frame.seq, reply.payload()), self._status_frame()]

    def _set_pwm(self, frame: Frame, request: SetPwm) -> Frame:
        if self.nack_next:
            return _nack(frame, self.nack_next.pop(0))
        if self.safe:
            return _nack(frame, NackCode.NOT_READY)
        if not is_valid_duty(request.duty_permille):
            return _nack(frame, NackCode.BAD_VALUE)
        if request.duty_permille != self.duty_permille:
            self.duty_permille = request.duty_permille
            self._changed = True
        return Frame(MsgType.ACK, frame.seq, Ack(frame.type).payload())

    def tick(self, now: float) -> list[Frame]:
        """Let time pass: the watchdog, and any STATUS due."""
        timeout_s = self.config.heartbeat_timeout_ms / 1000
        if not self.safe and now - self._last_rx > timeout_s:
            self._enter_safe_state(heartbeat_lost=True)
        if self._changed or now >= self._next_status:
            self._changed = False
            self._next_status = now + self._period()
            return [self._status_frame()]
        return []

    def _enter_safe_state(self, *, heartbeat_lost: bool) -> None:
        self.safe = True
        self.duty_permille = DUTY_STATE_F
        if heartbeat_lost:
            self.faults |= McuFault.HEARTBEAT_LOST
        self._changed = True

    def _period(self) -> float:
        period = self.config.status_period_ms
        return period / 1000 if period is not None else float("inf")

    def _status_frame(self) -> Frame:
        self._status_seq = (self._status_seq + 1) & 0xFF
        return Frame(MsgType.STATUS, self._status_seq, self.status().payload())


def _nack(frame: Frame, code: NackCode) -> Frame:
    return Frame(MsgType.NACK, frame.seq, Nack(frame.type, code).payload())
