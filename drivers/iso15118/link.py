"""The station's end of the link to an SECC module, whatever carries it (CAN or serial).

It owns the handshake (HELLO), the heartbeats both ways, the silence timeout, and the bookkeeping
that turns module messages into driver events exactly once:

* State, not edges. The module's heartbeat carries its session id and active fault codes, so a lost
  "stopped" or "fault cleared" message is repaired within one heartbeat. When the station notices it
  missed something (a lost transfer, a session it does not know), it sends HELLO and the module
  repeats its whole state; repeats of what the station already reported are not reported again.
* The station's limit is state too: it is sent again after every handshake, so a module that
  rebooted never runs on a limit it did not get.
* Trouble is a fault, never an exception out of :meth:`ModuleLink.run`: one fault name
  (``iso15118_failure``) whose detail lists the causes (link, each module fault code).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from drivers.errors import DriverError
from drivers.interfaces import (
    ISO15118_FAILURE,
    DriverEvent,
    EventSink,
    FaultCleared,
    FaultRaised,
    Iso15118ChargingNeeds,
    Iso15118ContractPresented,
    Iso15118SessionStarted,
    Iso15118SessionStopped,
    Iso15118StopReason,
)
from drivers.iso15118.certificate_messages import EvCertificateRequest, V2gCsr, V2gCsrRequest
from drivers.iso15118.certificate_relay import CertificateRelay
from drivers.iso15118.codes import ModuleFaultCode
from drivers.iso15118.messages import (
    MAX_MESSAGE_BYTES,
    NONE_U16,
    NONE_U32,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Authorization,
    ChargingNeeds,
    Contract,
    CurrentLimit,
    Heartbeat,
    Hello,
    MalformedMessage,
    Message,
    ModuleFault,
    SessionStarted,
    SessionStopped,
    decode,
    encode,
)
from drivers.iso15118.ocsp_messages import V2gOcspResponses, ocsp_responses_problem
from drivers.iso15118.segments import Reassembler, split
from drivers.iso15118.transport import Lost, MessageTransport

log = logging.getLogger(__name__)

STATION_NAME: Final = "evse-stack station"
#: Fault cause key of the link itself; the other keys are module fault codes (1..255).
_LINK: Final = 0
#: A replayed departure time may differ by the rounding to whole seconds at each end.
_DEPARTURE_TOLERANCE: Final = timedelta(seconds=2)
#: Largest values the wire carries (0xFFFF and 0xFFFFFFFF mean "not limited").
MAX_CURRENT_A: Final = (NONE_U16 - 1) / 10
MAX_POWER_W: Final = NONE_U32 - 1


def utc_now() -> datetime:
    """The UTC wall clock (the default of ``wall_clock``)."""
    return datetime.now(UTC)


def current_da(amps: float | None) -> int:
    """The wire value of a current offer: None offers nothing (0 A, like "no PWM" on a pilot)."""
    if amps is None:
        return 0
    if not (math.isfinite(amps) and 0 <= amps <= MAX_CURRENT_A):
        raise ValueError(f"cannot offer {amps} A (0..{MAX_CURRENT_A} A, or None for nothing)")
    return round(amps * 10)


def power_w(watts: float | None) -> int | None:
    """The wire value of a power limit: None means "not limited by power"."""
    if watts is None:
        return None
    if not (math.isfinite(watts) and 0 <= watts <= MAX_POWER_W):
        raise ValueError(f"cannot limit to {watts} W (0..{MAX_POWER_W} W, or None for no limit)")
    return round(watts)


def fault_label(code: int) -> str:
    """``PLC_MODEM`` for a known module fault code, ``code 7`` for an unknown one."""
    try:
        return ModuleFaultCode(code).name
    except ValueError:
        return f"code {code}"


class ModuleLink:
    """Station side of the bridge protocol over one :class:`MessageTransport` (see the module docstring)."""

    def __init__(
        self,
        *,
        evse_id: int,
        transport: MessageTransport,
        heartbeat_s: float,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.evse_id = evse_id
        self._transport = transport
        self._heartbeat_s = heartbeat_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._sink: EventSink | None = None
        self._send_lock = asyncio.Lock()
        self._open = False
        self._up = False  # the module answered our HELLO with our protocol version
        self._last_heard = 0.0
        self._last_hello = -math.inf
        self._hello_wanted = False
        self._lost = 0  # messages lost since the last HELLO, for the log
        self._limit_due = False
        self._silent = False
        self._causes: dict[int, str] = {}  # _LINK or module fault code -> detail
        self._reported_fault: str | None = None
        self._limit = CurrentLimit(current_da=0, power_w=None)  # nothing offered until the core says
        self._session: SessionStarted | None = None
        self._contract: Contract | None = None
        self._needs: Iso15118ChargingNeeds | None = None
        self.module_name: str | None = None
        # What the module's HELLO said: no module gets a message of a version above its own.
        self.module_version = PROTOCOL_VERSION
        self._certs = CertificateRelay(evse_id)
        self._reassembler = Reassembler(timeout_s)
        self._transfer_id = 0
        self._replies: list[Message] = []  # answers decided while receiving, sent by the serve loop

    @property
    def device(self) -> str:
        return self._transport.device

    @property
    def connected(self) -> bool:
        """True while the module answers: handshake done, heard from within the timeout."""
        return self._up

    # --- commands -----------------------------------------------------------------------------------

    async def set_limit(self, current_da: int | None, power_w: int | None) -> None:
        """Remember the limit and send it now if the module is there (else at the next handshake)."""
        self._limit = CurrentLimit(current_da, power_w)
        if self._up:
            await self._send(self._limit)
        else:
            log.info("device=%s limit=%s deferred=module-not-connected", self.device, self._limit)

    @property
    def limit(self) -> CurrentLimit:
        return self._limit

    async def send_authorization(self, accepted: bool) -> None:
        session = self._session
        if session is None:
            raise DriverError(self.device, "no ISO 15118 session to authorize")
        if not self._up:
            raise DriverError(self.device, "ISO 15118 module not connected")
        await self._send(Authorization(session.session_id, accepted))

    # --- commands of version 2: certificates -----------------------------------------------------------

    def _require_v2(self) -> None:
        if not self._up:
            raise DriverError(self.device, "ISO 15118 module not connected")
        if self.module_version < 2:
            raise DriverError(self.device, f"module speaks bridge protocol {self.module_version}: no certificates")

    async def send_ev_certificate_response(self, request_id: int, accepted: bool, exi_response: bytes) -> None:
        response = self._certs.answer(request_id, accepted, exi_response)
        self._require_v2()
        await self._send(response)

    async def request_v2g_csr(self, common_name: str, organization: str, country: str) -> None:
        self._require_v2()
        await self._send(V2gCsrRequest(common_name, organization, country))

    async def set_v2g_certificate_chain(self, chain_pem: str) -> None:
        """State: remembered and sent now if possible, else after the next handshake."""
        message = self._certs.set_chain(chain_pem)
        if self._up and self.module_version >= 2:
            await self._send(message)

    async def set_root_certificates(self, v2g_roots: Sequence[str], mo_roots: Sequence[str]) -> None:
        """State: remembered and sent now if possible, else after the next handshake."""
        messages = self._certs.set_roots(v2g_roots, mo_roots)
        if self._up and self.module_version >= 2:
            for message in messages:
                await self._send(message)

    # --- commands of version 3: OCSP stapling -------------------------------------------------------------

    async def set_v2g_ocsp_responses(self, responses: Sequence[bytes]) -> None:
        """State: remembered and sent now if possible, else after the next handshake with a version 3 module.

        The set is remembered even when the module speaks 1 or 2 (the call then raises), so a module
        updated to version 3 gets it at its next handshake.
        """
        problem = ocsp_responses_problem(responses)
        if problem is not None:
            raise DriverError(self.device, problem)
        message = V2gOcspResponses(tuple(bytes(r) for r in responses))
        self._certs.set_ocsp_responses(message)
        if self.module_version < 3:
            raise DriverError(self.device, f"module speaks bridge protocol {self.module_version}: no OCSP stapling")
        if self._up:
            await self._send(message)

    async def _send(self, message: Message) -> None:
        data = encode(message)
        async with self._send_lock:
            if not self._open:
                raise DriverError(self.device, "ISO 15118 module not connected")
            if len(data) > MAX_MESSAGE_BYTES:
                self._transfer_id = self._transfer_id % 255 + 1
            # The lock is held over all segments: nothing may come between them (segments.py).
            for part in split(data, self._transfer_id):
                await self._transport.send(part)

    # --- the long-running part ------------------------------------------------------------------------

    async def run(self, sink: EventSink) -> None:
        """Keep the link up and report events until cancelled; device trouble becomes a fault."""
        self._sink = sink
        try:
            while True:
                try:
                    await self._transport.open()
                    self._open = True
                    await self._serve()
                except DriverError as exc:
                    if self._causes.get(_LINK) != exc.problem:  # once per problem, not once per retry
                        log.warning("device=%s link trouble: %s", self.device, exc.problem)
                    self._set_cause(_LINK, exc.problem)
                finally:
                    self._open = self._up = False
                    await self._transport.close()
                await asyncio.sleep(self._timeout_s)  # a missing bus or port is retried, not hammered
        finally:
            self._sink = None

    async def _serve(self) -> None:
        self._last_heard = self._clock()
        self._silent = False
        await self._send_hello()
        next_tick = self._clock() + self._heartbeat_s
        while True:
            now = self._clock()
            silence_deadline = math.inf if self._silent else self._last_heard + self._timeout_s
            for item in await self._transport.receive(max(min(next_tick, silence_deadline) - now, 0.0)):
                self._on_received(item)
            if self._limit_due:
                self._limit_due = False
                await self._send(self._limit)
                if self.module_version >= 2:
                    self._replies += self._certs.after_handshake(self.module_version)
            replies, self._replies = self._replies, []
            for reply in replies:
                await self._send(reply)
            self._reassembler.expire(self._clock())
            self._count_broken()
            now = self._clock()
            if not self._silent and now - self._last_heard > self._timeout_s:
                self._up, self._silent = False, True
                self._set_cause(_LINK, f"no answer from the ISO 15118 module for {self._timeout_s:g} s")
            if now >= next_tick:
                next_tick = now + self._heartbeat_s
                if self._up and not self._hello_wanted:
                    await self._send(Heartbeat(self._session.session_id if self._session else 0))
                else:
                    await self._send_hello()
            elif self._hello_wanted and now - self._last_hello >= self._heartbeat_s:
                await self._send_hello()

    async def _send_hello(self) -> None:
        if self._lost:
            # One line per resync, not per bad frame: a noisy bus must not flood the journal.
            log.info(
                "device=%s lost=%d message(s) from the module; asking it to repeat its state", self.device, self._lost
            )
            self._lost = 0
        self._hello_wanted = False
        self._last_hello = self._clock()
        session_id = self._session.session_id if self._session else 0
        await self._send(Hello(PROTOCOL_VERSION, session_id, round(self._heartbeat_s * 1000), STATION_NAME))

    # --- what the module says -----------------------------------------------------------------------

    def _on_received(self, item: bytes | Lost) -> None:
        if isinstance(item, Lost):
            self._lost += 1
            self._hello_wanted = True
            return
        whole = self._reassembler.feed(item, self._clock())
        self._count_broken()
        if whole is None:
            return
        try:
            message = decode(whole)
        except MalformedMessage as exc:
            log.debug("device=%s malformed message: %s (%s)", self.device, exc, item[:16].hex())
            self._lost += 1
            self._hello_wanted = True
            return
        if isinstance(message, Hello):
            self._on_hello(message)
        elif not self._up:
            # Before the handshake the module's state is unknown: ask rather than guess.
            self._hello_wanted = True
        else:
            self._last_heard = self._clock()
            self._on_module_message(message)

    def _count_broken(self) -> None:
        if self._reassembler.broken:
            log.debug("device=%s dropped: %s", self.device, "; ".join(self._reassembler.broken))
            self._lost += len(self._reassembler.broken)
            self._hello_wanted = True
            self._reassembler.broken.clear()

    def _on_hello(self, hello: Hello) -> None:
        self._last_heard = self._clock()  # alive, even when it speaks another version
        self._silent = False
        if hello.version not in SUPPORTED_VERSIONS:
            self._up = False
            self._set_cause(_LINK, f"module speaks bridge protocol {hello.version}, station {PROTOCOL_VERSION}")
            return
        self.module_name = hello.name
        self.module_version = hello.version
        if not self._up:
            log.info("device=%s module=%r connected", self.device, hello.name)
        # The limit is state: a module that answers a HELLO (or announces its boot with one) gets it
        # again, so a module that was away or rebooted never runs on a limit it did not receive.
        self._limit_due = True
        self._up = True
        if self._session is not None and hello.session_id != self._session.session_id:
            self._end_session(Iso15118StopReason.OTHER)  # ended while we were not listening
        self._clear_cause(_LINK)

    def _on_module_message(self, message: Message) -> None:
        match message:
            case Heartbeat(session_id, faults):
                self._reconcile_faults(faults)
                if session_id != (self._session.session_id if self._session else 0):
                    self._hello_wanted = True
            case SessionStarted():
                self._on_session_started(message)
            case SessionStopped(session_id, reason):
                if self._session is not None and session_id == self._session.session_id:
                    self._end_session(reason)
            case Contract():
                self._on_contract(message)
            case ChargingNeeds():
                self._on_needs(message)
            case ModuleFault(code, active, detail):
                if active:
                    self._set_cause(code, f"module fault {fault_label(code)}: {detail}")
                else:
                    self._clear_cause(code)
            case EvCertificateRequest() | V2gCsr():
                events, replies = self._certs.on_module_message(message)
                for event in events:
                    self._emit(event)
                self._replies += replies
            case CurrentLimit() | Authorization() | V2gOcspResponses():
                log.info("device=%s ignored station-bound %s from the module", self.device, type(message).__name__)

    def _on_session_started(self, started: SessionStarted) -> None:
        if started == self._session:
            return  # a replay after HELLO
        if self._session is not None:
            self._end_session(Iso15118StopReason.OTHER)  # its stop was lost
        self._session = started
        self._emit(Iso15118SessionStarted(self.evse_id, started.evcc_id, started.protocol, started.energy_mode))

    def _current(self, session_id: int) -> bool:
        if self._session is not None and session_id == self._session.session_id:
            return True
        self._hello_wanted = True  # about a session we do not know: we missed its start
        return False

    def _on_contract(self, contract: Contract) -> None:
        if not self._current(contract.session_id) or contract == self._contract:
            return
        self._contract = contract
        self._emit(Iso15118ContractPresented(self.evse_id, contract.emaid, contract.hash_data))

    def _on_needs(self, needs: ChargingNeeds) -> None:
        if not self._current(needs.session_id):
            return
        departure = None
        if needs.departure_s is not None:
            departure = self._wall_clock() + timedelta(seconds=needs.departure_s)
        event = Iso15118ChargingNeeds(
            self.evse_id,
            requested_energy_wh=needs.requested_energy_wh,
            departure_time=departure,
            max_current_a=needs.max_current_da / 10,
            max_voltage_v=needs.max_voltage_dv / 10,
            max_power_w=needs.max_power_w,
            energy_mode=needs.energy_mode,
            min_current_a=None if needs.min_current_da is None else needs.min_current_da / 10,
        )
        if self._needs is not None and _same_needs(self._needs, event):
            return
        self._needs = event
        self._emit(event)

    def _end_session(self, reason: Iso15118StopReason) -> None:
        self._session = self._contract = self._needs = None
        self._emit(Iso15118SessionStopped(self.evse_id, reason))

    def _reconcile_faults(self, active: tuple[int, ...]) -> None:
        for code in [k for k in self._causes if k != _LINK and k not in active]:
            self._clear_cause(code)  # its "cleared" message was lost
        for code in active:
            if code not in self._causes:
                self._set_cause(code, f"module fault {fault_label(code)}")  # its detail was lost

    # --- faults and events ----------------------------------------------------------------------------

    def _set_cause(self, key: int, detail: str) -> None:
        self._causes[key] = detail
        self._report_faults()

    def _clear_cause(self, key: int) -> None:
        if self._causes.pop(key, None) is not None:
            self._report_faults()

    def _report_faults(self) -> None:
        # The link first, then module faults by code: a stable order, so the detail changes only
        # when a cause does.
        detail = "; ".join(self._causes[k] for k in sorted(self._causes)) or None
        if detail == self._reported_fault:
            return
        self._reported_fault = detail
        if detail is None:
            self._emit(FaultCleared(self.evse_id, ISO15118_FAILURE))
        else:
            self._emit(FaultRaised(self.evse_id, ISO15118_FAILURE, detail))

    def _emit(self, event: DriverEvent) -> None:
        log.debug("device=%s event=%r", self.device, event)
        if self._sink is not None:
            self._sink(event)


def _same_needs(a: Iso15118ChargingNeeds, b: Iso15118ChargingNeeds) -> bool:
    """Equal but for the departure time, which a replay recomputes from a rounded "seconds from now"."""
    if a.departure_time is None or b.departure_time is None:
        if a.departure_time is not b.departure_time:
            return False
    elif abs(a.departure_time - b.departure_time) > _DEPARTURE_TOLERANCE:
        return False
    return replace(a, departure_time=None) == replace(b, departure_time=None)


__all__ = ["MAX_CURRENT_A", "MAX_POWER_W", "ModuleLink", "current_da", "fault_label", "power_w", "utc_now"]
