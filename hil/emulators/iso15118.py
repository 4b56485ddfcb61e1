"""An emulated SECC module: the far end of the bridge, on a python-can bus or on a pty.

Like a mock pin of gpiozero it works at the level of the real wire: the station's bridge driver talks
to it over the same virtual CAN channel or a real pty pair, so everything between the driver and the
bytes is exercised. A test scripts the EV side (start a session, present a contract, send charging
needs, stop) and reads back what the station sent (current limits, authorization results). Fault
hooks: :attr:`EmulatedSecc.silent`, :attr:`EmulatedSecc.version` (an older or incompatible module: types
of later versions are unknown to it), :meth:`~EmulatedSecc.send_raw` (garbage),
:meth:`~EmulatedSecc.send_out_of_order` and :meth:`~EmulatedSecc.send_corrupted`.

``python -m hil.emulators.iso15118 --channel vcan0`` runs it for a HIL rig, scripted on stdin
(see :mod:`hil.emulators.iso15118_cli`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pty
import time
import tty
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Final, Self

from drivers.interfaces import EnergyTransferMode, Iso15118Protocol, Iso15118StopReason, OcspRequestData
from drivers.iso15118.can_segmentation import segment
from drivers.iso15118.can_transport import CanTransport
from drivers.iso15118.certificate_messages import (
    CertificateAction,
    EvCertificateRequest,
    EvCertificateResponse,
    RootCertificates,
    RootKind,
    V2gCertificateChain,
    V2gCsr,
    V2gCsrRequest,
)
from drivers.iso15118.messages import (
    PROTOCOL_VERSION,
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
    introduced_in,
)
from drivers.iso15118.ocsp_messages import V2gOcspResponses
from drivers.iso15118.segments import Reassembler, split
from drivers.iso15118.serial_framing import frame
from drivers.iso15118.serial_transport import SerialTransport
from drivers.iso15118.transport import Lost, RawTransport
from hil.emulators.fd_stream import FdStream

log = logging.getLogger(__name__)

DEFAULT_NAME: Final = "emulated SECC 1.0"
DEFAULT_BASE_ID: Final = 0x600


@dataclass
class _PtyEnds:
    master: int
    slave: int  # held open so the master never reads EIO while the station's port is closed
    path: str

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class _NeedsSent:
    message: ChargingNeeds
    sent_at: float  # monotonic; a replay sends the departure time still left


class EmulatedSecc:
    """The module side of the bridge protocol, scriptable, recording what the station sends."""

    def __init__(
        self,
        transport: RawTransport,
        *,
        heartbeat_ms: int = 100,
        name: str = DEFAULT_NAME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.heartbeat_s = heartbeat_ms / 1000
        self.name = name
        self.version = PROTOCOL_VERSION  # 1 or 2: an older module; 0 or above 3: an incompatible one
        self.silent = False  # True: sends nothing, answers nothing (a hung module)
        self.port: str | None = None  # the station's end, for a module on a pty
        # What the station sent, in order of arrival.
        self.limits: list[CurrentLimit] = []
        self.authorizations: list[Authorization] = []
        self.hellos_received = 0
        self.heartbeats_received = 0
        self.garbage_received = 0
        # Version 2: certificate work.
        self.ev_certificate_responses: list[EvCertificateResponse] = []
        self.csr_requests: list[V2gCsrRequest] = []
        self.v2g_chains: list[str] = []
        self.roots: dict[RootKind, tuple[str, ...]] = {}
        self.roots_received = 0
        self.v2g_private_key_pem: bytes | None = None  # made here, never sent: the module's TLS key
        # Version 3: the OCSP responses to staple (the last set received; chain order).
        self.ocsp_responses: list[bytes] = []
        self.ocsp_messages_received = 0
        self._pending_requests: dict[int, EvCertificateRequest] = {}
        self._pending_csr: V2gCsr | None = None
        self._next_request_id = 1
        self._transfer_id = 0
        self._reassembler = Reassembler(2.0)
        #: Called with every well-formed message from the station (the HIL CLI prints them).
        self.on_message: Callable[[Message], None] | None = None
        self._clock = clock
        self._session: SessionStarted | None = None
        self._contract: Contract | None = None
        self._needs: _NeedsSent | None = None
        self._faults: dict[int, str] = {}
        self._next_session_id = 1
        self._send_lock = asyncio.Lock()
        self._traffic = asyncio.Event()  # set whenever the station sent something
        self._task: asyncio.Task[None] | None = None
        self._pty: _PtyEnds | None = None

    # --- construction on a wire ---------------------------------------------------------------------

    @classmethod
    def on_can(
        cls,
        channel: str,
        *,
        interface: str = "virtual",
        base_id: int = DEFAULT_BASE_ID,
        bitrate: int = 500_000,
        heartbeat_ms: int = 100,
        name: str = DEFAULT_NAME,
    ) -> EmulatedSecc:
        """A module on CAN: listens on ``base_id``, sends on ``base_id + 1`` (the station's mirror)."""
        transport = CanTransport(
            interface=interface,
            channel=channel,
            bitrate=bitrate,
            tx_id=base_id + 1,
            rx_id=base_id,
            device=f"emulated SECC {interface}:{channel}",
        )
        return cls(transport, heartbeat_ms=heartbeat_ms, name=name)

    @classmethod
    def on_pty(cls, *, heartbeat_ms: int = 100, name: str = DEFAULT_NAME) -> EmulatedSecc:
        """A module on the master end of a new raw pty pair; the station opens :attr:`port`."""
        master, slave = pty.openpty()
        tty.setraw(slave)
        ends = _PtyEnds(master, slave, os.ttyname(slave))
        transport = SerialTransport(
            open_stream=lambda: FdStream(master, owns_fd=False),
            device=f"emulated SECC {ends.path}",
            byte_time_s=10 / 115200,
        )
        module = cls(transport, heartbeat_ms=heartbeat_ms, name=name)
        module.port, module._pty = ends.path, ends
        return module

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the wire, announce the boot with a HELLO, and serve the station in the background."""
        await self.transport.open()
        try:
            await self._send(self._hello())
        except BaseException:
            await self.transport.close()
            raise
        self._task = asyncio.get_running_loop().create_task(self._serve(), name="emulated SECC")

    async def close(self) -> None:
        """Stop serving; re-raises whatever made the background task fail, so a test sees it."""
        task, self._task = self._task, None
        try:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await self.transport.close()
            if self._pty is not None:
                self._pty.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- the EV side, scripted ----------------------------------------------------------------------

    @property
    def session_id(self) -> int:
        """The current session, 0 for none."""
        return self._session.session_id if self._session else 0

    async def start_session(
        self,
        evcc_id: str,
        protocol: Iso15118Protocol = Iso15118Protocol.ISO_15118_2,
        energy_mode: EnergyTransferMode = EnergyTransferMode.AC_THREE_PHASE,
    ) -> int:
        """An EV connects and opens a session; returns its session id."""
        session_id = self._next_session_id
        self._next_session_id = session_id % 255 + 1
        self._session = SessionStarted(session_id, protocol, energy_mode, evcc_id)
        self._contract, self._needs = None, None
        await self._send(self._session)
        return session_id

    async def present_contract(self, emaid: str | None, hash_data: Sequence[OcspRequestData] = ()) -> None:
        """The EV offers its contract (Plug & Charge)."""
        self._contract = Contract(self._require_session().session_id, emaid, tuple(hash_data))
        await self._send(self._contract)

    async def send_charging_needs(
        self,
        *,
        max_current_a: float,
        max_voltage_v: float,
        requested_energy_wh: int | None = None,
        departure_s: int | None = None,
        max_power_w: int | None = None,
        min_current_a: float | None = None,
        energy_mode: EnergyTransferMode | None = None,
    ) -> None:
        """The EV states what it needs (ChargeParameterDiscovery)."""
        session = self._require_session()
        needs = ChargingNeeds(
            session.session_id,
            energy_mode or session.energy_mode,
            requested_energy_wh,
            departure_s,
            round(max_current_a * 10),
            round(max_voltage_v * 10),
            max_power_w,
            None if min_current_a is None else round(min_current_a * 10),
        )
        self._needs = _NeedsSent(needs, self._clock())
        await self._send(needs)

    async def stop_session(self, reason: Iso15118StopReason = Iso15118StopReason.STOPPED_BY_EV) -> None:
        """The session ends."""
        stopped = SessionStopped(self._require_session().session_id, reason)
        self._session, self._contract, self._needs = None, None, None
        await self._send(stopped)

    async def raise_fault(self, code: int, detail: str) -> None:
        self._faults[code] = detail
        await self._send(ModuleFault(code, True, detail))

    async def clear_fault(self, code: int) -> None:
        self._faults.pop(code, None)
        await self._send(ModuleFault(code, False, ""))

    async def request_ev_certificate(
        self,
        exi: bytes,
        action: CertificateAction = CertificateAction.INSTALL,
        schema_version: str = "urn:iso:15118:2:2013:MsgDef",
    ) -> int:
        """The EV sends a CertificateInstallationReq (or UpdateReq): relayed as is; returns the request id."""
        request_id = self._next_request_id
        self._next_request_id = request_id % 255 + 1
        request = EvCertificateRequest(request_id, action, schema_version, exi)
        self._pending_requests[request_id] = request
        await self._send(request)
        return request_id

    def ev_certificate_response(self, request_id: int) -> EvCertificateResponse | None:
        """The station's answer to ``request_id``, once it came."""
        return next((r for r in self.ev_certificate_responses if r.request_id == request_id), None)

    async def send_v2g_csr(self, common_name: str, organization: str = "EVSE Stack", country: str = "DE") -> str:
        """Make a new key pair for the module's TLS and send its CSR (as on a station's V2G_CSR_REQUEST).

        The private key stays here, as in a real module: it never crosses the bus.
        """
        from hil.emulators.v2g_keys import new_key_and_csr

        key_pem, csr_pem = await asyncio.to_thread(new_key_and_csr, common_name, organization, country)
        self.v2g_private_key_pem = key_pem
        self._pending_csr = V2gCsr(csr_pem)
        await self._send(self._pending_csr)
        return csr_pem

    async def reboot(self) -> None:
        """The module restarts: session and faults are gone, and it announces itself with a HELLO."""
        self._session, self._contract, self._needs = None, None, None
        self._faults.clear()
        await self._send(self._hello())

    def _require_session(self) -> SessionStarted:
        if self._session is None:
            raise RuntimeError("no session: call start_session first")
        return self._session

    # --- fault hooks --------------------------------------------------------------------------------

    async def send_raw(self, chunks: Sequence[bytes]) -> None:
        """Put ``chunks`` on the wire as they are: CAN data fields, or serial bytes."""
        async with self._send_lock:
            await self.transport.send_raw(chunks)

    async def send_out_of_order(self, message: Message) -> None:
        """CAN only: send ``message``'s segments with two continuation frames swapped."""
        if not isinstance(self.transport, CanTransport):
            raise TypeError("out-of-order segments exist on CAN only")
        frames = segment(encode(message))
        if len(frames) < 3:
            raise ValueError("message too short to have two continuation frames")
        frames[1], frames[2] = frames[2], frames[1]
        await self.send_raw(frames)

    async def send_corrupted(self, message: Message) -> None:
        """Send ``message`` with one payload byte flipped, so its CRC fails (CAN: multi-frame messages)."""
        data = encode(message)
        if isinstance(self.transport, CanTransport):
            chunks = segment(data)
            if len(chunks) < 2:
                raise ValueError("a single CAN frame has no CRC to fail: use a longer message")
        else:
            chunks = [frame(data)]
        last = bytearray(chunks[-1])
        last[-1] ^= 0xFF
        chunks[-1] = bytes(last)
        await self.send_raw(chunks)

    # --- the module's own protocol work ---------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds, checked whenever the station sent something (e.g. a limit).

        TimeoutError after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while not predicate():
                self._traffic.clear()
                await self._traffic.wait()

    async def _send(self, message: Message) -> None:
        if self.silent:
            return
        data = encode(message)
        async with self._send_lock:
            self._transfer_id = self._transfer_id % 255 + 1
            for part in split(data, self._transfer_id):
                await self.transport.send(part)

    def _hello(self) -> Hello:
        return Hello(self.version, self.session_id, round(self.heartbeat_s * 1000), self.name)

    async def _serve(self) -> None:
        next_beat = self._clock() + self.heartbeat_s
        while True:
            for item in await self.transport.receive(max(next_beat - self._clock(), 0.0)):
                await self._on_received(item)
            if self._clock() >= next_beat:
                next_beat = self._clock() + self.heartbeat_s
                await self._send(Heartbeat(self.session_id, tuple(sorted(self._faults))))

    async def _on_received(self, item: bytes | Lost) -> None:
        self._traffic.set()
        if isinstance(item, Lost):
            self.garbage_received += 1
            return
        whole = self._reassembler.feed(item, self._clock())
        if self._reassembler.broken:
            # A lost answer cannot be asked for by name: the module repeats what it still waits for.
            self.garbage_received += len(self._reassembler.broken)
            self._reassembler.broken.clear()
            await self._repeat_pending()
        if whole is None:
            return
        if whole and introduced_in(whole[0]) > self.version:
            # A module of an older version does not know this type: its decoder refuses it.
            log.info("emulated SECC: unknown message type 0x%02X for bridge protocol %d", whole[0], self.version)
            self.garbage_received += 1
            return
        try:
            message = decode(whole)
        except MalformedMessage as exc:
            log.info("emulated SECC: malformed message from the station: %s", exc)
            self.garbage_received += 1
            return
        if self.on_message is not None:
            self.on_message(message)
        match message:
            case Hello():
                self.hellos_received += 1
                await self._replay()
            case Heartbeat():
                self.heartbeats_received += 1
            case CurrentLimit():
                self.limits.append(message)
            case Authorization():
                self.authorizations.append(message)
            case EvCertificateResponse(request_id):
                self._pending_requests.pop(request_id, None)
                self.ev_certificate_responses.append(message)
            case V2gCsrRequest(common_name, organization, country):
                self.csr_requests.append(message)
                await self.send_v2g_csr(common_name, organization, country)
            case V2gCertificateChain(chain_pem):
                self._pending_csr = None
                self.v2g_chains.append(chain_pem)
            case RootCertificates(kind, pems):
                self.roots_received += 1
                self.roots[kind] = pems
            case V2gOcspResponses(responses):
                self.ocsp_messages_received += 1
                self.ocsp_responses = list(responses)
            case _:
                log.info("emulated SECC: ignored module-bound %s from the station", type(message).__name__)

    async def _replay(self) -> None:
        """Answer a station HELLO: HELLO, then every active fault and the session's state."""
        await self._send(self._hello())
        for code, detail in sorted(self._faults.items()):
            await self._send(ModuleFault(code, True, detail))
        if self._session is not None:
            await self._send(self._session)
        if self._contract is not None:
            await self._send(self._contract)
        if self._needs is not None:
            needs = self._needs.message
            if needs.departure_s is not None:
                left = needs.departure_s - (self._clock() - self._needs.sent_at)
                needs = replace(needs, departure_s=max(0, round(left)))
            await self._send(needs)
        await self._repeat_pending()

    async def _repeat_pending(self) -> None:
        for request in list(self._pending_requests.values()):
            await self._send(request)
        if self._pending_csr is not None:
            await self._send(self._pending_csr)

    # --- what the station sent, for assertions ----------------------------------------------------------

    @property
    def last_limit(self) -> CurrentLimit | None:
        return self.limits[-1] if self.limits else None


if __name__ == "__main__":
    from hil.emulators.iso15118_cli import main

    raise SystemExit(main())
