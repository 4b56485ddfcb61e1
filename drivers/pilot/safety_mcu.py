"""Control pilot through a safety microcontroller on a UART (docs/safety-mcu-protocol.md).

The MCU measures CP and PP, generates the CP PWM, gates the contactor (relay enable) and watches
the RCD; it opens the relay by itself when Linux falls silent, so safety never depends on this
process. This driver is the Linux end: it handshakes, keeps the MCU's watchdog fed, turns STATUS
frames into driver events and offers currents by SET_PWM.

Recovery has one path: any trouble (port gone, MCU silent, incompatible version, MCU in its safe
state) ends in a new HELLO, and a port that fails or a handshake that gets no answer closes the
port and reopens it after ``reconnect_ms``. The last commanded duty cycle is restored after every
handshake, because an MCU that went safe or rebooted no longer generates it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Final

from pydantic import Field, field_validator

from drivers.errors import DriverError
from drivers.interfaces import DriverEvent, DriverParams, EventSink, PilotState
from drivers.pilot.duty import DUTY_STATE_F, current_for_duty, duty_for_current
from drivers.pilot.fault_causes import CausedFault
from drivers.pilot.framing import Frame
from drivers.pilot.link import SerialFrameLink
from drivers.pilot.messages import (
    FROM_MCU,
    PROTOCOL_VERSION,
    HeartbeatReply,
    Hello,
    HelloReply,
    MessageError,
    MsgType,
    Nack,
    SetPwm,
    Status,
    StatusFlag,
)
from drivers.pilot.status_events import status_events

log = logging.getLogger(__name__)

PILOT_FAILURE: Final = "pilot_failure"
_STANDARD_BAUDRATES: Final = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_REPLY_TYPES: Final = frozenset({MsgType.HELLO_REPLY, MsgType.ACK, MsgType.NACK})


class SafetyMcuPilot:
    """Pilot of one EVSE whose CP/PP, relay enable and RCD are handled by a safety MCU on a UART."""

    class Params(DriverParams):
        """Board-YAML keys of ``pilot.safety_mcu``."""

        port: str = Field(min_length=1, description="serial device of the MCU link, e.g. /dev/ttyS1")
        baudrate: int = Field(default=115200, description="UART speed; 8N1, no flow control")
        heartbeat_ms: int = Field(default=200, ge=10, le=10_000, description="period of HEARTBEAT frames to the MCU")
        response_timeout_ms: int = Field(default=200, ge=5, le=10_000, description="wait for an answer per attempt")
        retries: int = Field(default=2, ge=0, le=10, description="extra attempts after an unanswered request")
        reconnect_ms: int = Field(default=1000, ge=10, le=60_000, description="pause before reopening the port")

        @field_validator("baudrate")
        @classmethod
        def _standard_baudrate(cls, value: int) -> int:
            if value not in _STANDARD_BAUDRATES:
                raise ValueError(f"{value} is not a standard baud rate ({', '.join(map(str, _STANDARD_BAUDRATES))})")
            return value

    def __init__(
        self,
        *,
        evse_id: int,
        port: str,
        baudrate: int = 115200,
        heartbeat_ms: int = 200,
        response_timeout_ms: int = 200,
        retries: int = 2,
        reconnect_ms: int = 1000,
    ) -> None:
        p = self.Params(
            port=port,
            baudrate=baudrate,
            heartbeat_ms=heartbeat_ms,
            response_timeout_ms=response_timeout_ms,
            retries=retries,
            reconnect_ms=reconnect_ms,
        )
        self.evse_id = evse_id
        self.name = f"pilot.safety_mcu evse={evse_id} {p.port}"
        self._params = p
        self._heartbeat_s = p.heartbeat_ms / 1000
        self._timeout_s = p.response_timeout_ms / 1000
        # Silent for longer than every heartbeat of one retry round plus one answer time: the MCU is gone.
        self._silence_s = (p.retries + 1) * self._heartbeat_s + self._timeout_s
        self._sink: EventSink | None = None
        self._link: SerialFrameLink | None = None
        self._ready = False  # a compatible HELLO_REPLY arrived on the open link
        self._hello_problem = ""
        self._state_unknown = True  # no STATUS yet since the last handshake
        self._wake = asyncio.Event()
        self._command_lock = asyncio.Lock()
        self._pending: dict[int, asyncio.Future[Frame]] = {}
        self._seq = 0
        self._last_rx = 0.0
        self._garbage_mark = (0, 0)
        self._status: Status | None = None  # last STATUS reported through the sink in this run
        self._state = PilotState.A
        self._mcu: HelloReply | None = None
        self._uptime_ms: int | None = None
        self._desired_duty: int | None = None  # last commanded; restored after every handshake
        self._failure = CausedFault(evse_id, PILOT_FAILURE, self.name)  # causes "link" and "command"

    # ---- what the station core sees ----------------------------------------------------------------

    @property
    def state(self) -> PilotState:
        """The last CP state the MCU reported (A until the first STATUS)."""
        return self._state

    @property
    def connected(self) -> bool:
        """True while the port is open and the MCU answered a compatible HELLO."""
        return self._ready

    @property
    def mcu(self) -> HelloReply | None:
        """The MCU's versions and serial number from its last HELLO_REPLY."""
        return self._mcu

    @property
    def mcu_uptime_ms(self) -> int | None:
        """The MCU's uptime from its last HEARTBEAT_REPLY (wraps at 2**32 ms)."""
        return self._uptime_ms

    @property
    def last_status(self) -> Status | None:
        """The last STATUS (CP voltage, duty, relay feedback, temperature ...) reported in this run."""
        return self._status

    @property
    def offered_current_a(self) -> float | None:
        """The current the MCU's PWM offers now, from the last STATUS; None without PWM or STATUS."""
        if self._status is None:
            return None
        try:
            return current_for_duty(self._status.duty_permille)
        except ValueError:
            return None

    @property
    def frames_rejected(self) -> int:
        """Corrupt frames dropped on the current link (0 while disconnected)."""
        return self._link.frames_rejected if self._link is not None else 0

    async def set_current_limit(self, amps: float | None) -> None:
        """Offer ``amps`` by PWM (None: no PWM); DriverError on NACK, no answer or no MCU link."""
        await self._command_duty(duty_for_current(amps))

    async def set_unavailable(self) -> None:
        """Drive the CP to state F (0 %): tells the EV the EVSE is not available."""
        await self._command_duty(DUTY_STATE_F)

    async def run(self, sink: EventSink) -> None:
        """Keep the MCU link up and report events until cancelled; never raises for device trouble."""
        self._sink = sink
        self._status = None  # every run reports the current state once
        self._failure.remove("link")  # this run judges the link afresh
        self._failure.attach(sink)  # a command that failed before the run: the core knows, it must hear the end
        try:
            while True:
                await self._connection()
                await asyncio.sleep(self._params.reconnect_ms / 1000)
        finally:
            self._sink = None
            self._failure.attach(None)

    # ---- connection --------------------------------------------------------------------------------

    async def _connection(self) -> None:
        """One open-port session; returns (after reporting the fault) when it is over."""
        try:
            link = await SerialFrameLink.open(
                self._params.port, self._params.baudrate, write_timeout_s=self._timeout_s, device=self.name
            )
        except DriverError as exc:
            self._fail("link", f"cannot open the port: {exc.problem}")
            return
        self._link = link
        self._last_rx = time.monotonic()
        self._garbage_mark = (0, 0)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._keep_alive(link))
                await self._receive(link)
        except* DriverError as group:
            first = group.exceptions[0]
            self._fail("link", first.problem if isinstance(first, DriverError) else str(first))
        finally:
            self._ready = False
            self._link = None
            link.close()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(DriverError(self.name, "link closed"))

    async def _keep_alive(self, link: SerialFrameLink) -> None:
        """Handshake, then feed the MCU's watchdog; back to the handshake when the link is in doubt."""
        while True:
            if not self._ready:
                self._wake.clear()
                await self._handshake(link)
                await self._restore_duty(link)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._heartbeat_s):
                    await self._wake.wait()
            if not self._ready:
                continue
            await link.send(Frame(MsgType.HEARTBEAT, self._next_seq()))
            silent_s = time.monotonic() - self._last_rx
            if silent_s > self._silence_s:
                self._ready = False
                self._fail("link", self._silence_detail(link, silent_s))

    async def _handshake(self, link: SerialFrameLink) -> None:
        """HELLO until a compatible reply; DriverError (closing the port) when none comes."""
        self._hello_problem = "no HELLO_REPLY"
        try:
            reply = await self._request(link, MsgType.HELLO, Hello(PROTOCOL_VERSION).payload())
        except DriverError as exc:
            raise DriverError(self.name, f"handshake failed: {exc.problem}; {self._garbage_note(link)}") from None
        if reply.type == MsgType.NACK:
            with contextlib.suppress(MessageError):
                self._hello_problem = f"MCU refused HELLO: {Nack.parse(reply.payload).reason}"
        if not self._ready:
            raise DriverError(self.name, self._hello_problem)

    def _accept_hello(self, frame: Frame) -> None:
        """Judge a HELLO_REPLY where it is received, so the STATUS right behind it is already ours."""
        try:
            hello = HelloReply.parse(frame.payload)
        except MessageError as exc:
            self._hello_problem = f"bad HELLO_REPLY: {exc}"
            return
        self._mcu = hello
        ours, theirs = PROTOCOL_VERSION, hello.protocol
        if theirs[0] != ours[0]:
            self._hello_problem = f"MCU speaks protocol {theirs[0]}.{theirs[1]}, driver {ours[0]}.{ours[1]}"
            return
        if 2 * self._params.heartbeat_ms > hello.heartbeat_timeout_ms:
            self._hello_problem = (
                f"heartbeat_ms={self._params.heartbeat_ms} too slow for the MCU's {hello.heartbeat_timeout_ms} ms "
                "watchdog (at most half of it)"
            )
            return
        log.info(
            "device=%r mcu_protocol=%d.%d firmware=%s serial=%s watchdog_ms=%d",
            self.name,
            *theirs,
            hello.firmware_version,
            hello.serial_hex,
            hello.heartbeat_timeout_ms,
        )
        self._ready = True
        self._state_unknown = True

    async def _restore_duty(self, link: SerialFrameLink) -> None:
        if self._desired_duty is None or not self._ready:
            return
        with contextlib.suppress(DriverError):  # recorded as a pilot_failure cause; the link stays up
            await self._send_duty(link, None)

    # ---- receiving ---------------------------------------------------------------------------------

    async def _receive(self, link: SerialFrameLink) -> None:
        while True:
            frame = await link.receive()
            if not frame.type & FROM_MCU:
                log.debug("device=%r ignored=own-frame-echoed type=0x%02X", self.name, frame.type)
                continue
            self._last_rx = time.monotonic()
            self._garbage_mark = (link.frames_rejected, link.bytes_discarded)
            try:
                self._dispatch(frame)
            except MessageError as exc:
                log.warning("device=%r malformed frame type=0x%02X: %s", self.name, frame.type, exc)

    def _dispatch(self, frame: Frame) -> None:
        if frame.type in _REPLY_TYPES:
            future = self._pending.get(frame.seq)
            if future is not None and not future.done():
                if frame.type == MsgType.HELLO_REPLY:
                    self._accept_hello(frame)
                future.set_result(frame)
        elif frame.type == MsgType.HEARTBEAT_REPLY:
            self._uptime_ms = HeartbeatReply.parse(frame.payload).uptime_ms
        elif frame.type == MsgType.STATUS:
            # Before a compatible HELLO_REPLY the layout of STATUS is not known to be ours.
            if self._ready:
                self._on_status(Status.parse(frame.payload))
        else:
            log.debug("device=%r ignored=unknown-type type=0x%02X", self.name, frame.type)

    def _on_status(self, status: Status) -> None:
        for event in status_events(self.evse_id, self._status, status):
            self._emit(event)
        self._status = status
        self._state = status.cp_state
        if StatusFlag.SAFE_STATE in status.flags:
            # The MCU stopped trusting us (it missed our heartbeats, or rebooted): only HELLO brings it back.
            self._ready = False
            self._fail("link", "safety MCU entered its safe state (relay enable off, CP at F)")
            self._wake.set()
        elif self._state_unknown:
            # The link counts as recovered once the current state is known again, not at HELLO_REPLY.
            self._state_unknown = False
            self._recover("link")

    # ---- requests ----------------------------------------------------------------------------------

    async def _command_duty(self, duty: int) -> None:
        self._desired_duty = duty
        link = self._link
        if link is None or not self._ready:
            problem = "not connected to the safety MCU"
            self._fail("command", problem)
            raise DriverError(self.name, problem)
        await self._send_duty(link, duty)

    async def _send_duty(self, link: SerialFrameLink, duty: int | None) -> None:
        """SET_PWM ``duty`` (None: the latest desired duty, read under the lock) and wait for the ACK."""
        async with self._command_lock:
            duty = self._desired_duty if duty is None else duty
            assert duty is not None
            try:
                reply = await self._request(link, MsgType.SET_PWM, SetPwm(duty).payload())
                if reply.type == MsgType.NACK:
                    nack = Nack.parse(reply.payload)
                    raise DriverError(self.name, f"MCU refused SET_PWM {duty / 10:g} %: {nack.reason}")
            except (DriverError, MessageError) as exc:
                problem = exc.problem if isinstance(exc, DriverError) else str(exc)
                self._fail("command", problem)
                raise DriverError(self.name, problem) from None
        log.info("device=%r duty_permille=%d acked", self.name, duty)
        self._recover("command")

    async def _request(self, link: SerialFrameLink, msg_type: MsgType, payload: bytes) -> Frame:
        """Send a request and return its answer (same SEQ), resending the same frame on each timeout."""
        seq = self._next_seq()
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        try:
            for _ in range(self._params.retries + 1):
                await link.send(Frame(msg_type, seq, payload))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._timeout_s):
                        return await asyncio.shield(future)
            raise DriverError(self.name, f"no answer to {msg_type.name} ({self._params.retries + 1} attempts)")
        finally:
            self._pending.pop(seq, None)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    # ---- faults ------------------------------------------------------------------------------------

    def _silence_detail(self, link: SerialFrameLink, silent_s: float) -> str:
        return f"no valid frame from the safety MCU for {silent_s * 1000:.0f} ms; {self._garbage_note(link)}"

    def _garbage_note(self, link: SerialFrameLink) -> str:
        rejected = link.frames_rejected - self._garbage_mark[0]
        discarded = link.bytes_discarded - self._garbage_mark[1]
        if rejected or discarded:
            return f"garbage received: {rejected} corrupt frames, {discarded} stray bytes"
        return "line silent"

    def _fail(self, cause: str, detail: str) -> None:
        self._failure.add(cause, detail)

    def _recover(self, cause: str) -> None:
        self._failure.remove(cause)

    def _emit(self, event: DriverEvent) -> None:
        if self._sink is not None:
            self._sink(event)
