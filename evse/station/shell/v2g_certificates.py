"""Plug & Charge certificate work between the EVSEs' ISO 15118 modules and the CSMS (issue 12, section 1).

* M01/M02: the EV's certificate installation/update request (EXI from the module) becomes a
  Get15118EVCertificate; the exiResponse goes back to the module. The EXI is opaque here: base64 on
  the OCPP side, bytes on the bridge. No answer, a Failed answer or installation disabled
  (ISO15118Ctrlr.ContractCertificateInstallationEnabled) is a Failed answer to the module, so the EV
  is never left waiting for the whole of its timeout.
* The V2G certificate (A02/A03 with V2GCertificate): the module makes its key and CSR (why: see
  evse.security.v2g_chain), the station sends SignCertificate(V2GCertificate) and hands the chain of a
  CertificateSigned(V2GCertificate) to the module after checking it. An accepted request that no chain
  follows is repeated with a new CSR as A02 says (CertSigningWaitMinimum, CertSigningRepeatTimes).
* Roots: the installed V2GRootCertificates and MORootCertificates are handed to every module at start
  and after each InstallCertificate/DeleteCertificate of those types (the bridge repeats them after
  every handshake).

X.509 (cryptography) is imported only when a chain is checked or roots are read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.errors import DriverError
from drivers.interfaces import (
    Iso15118CertificateBridge,
    Iso15118CertificateRequested,
    Iso15118V2gCsrPresented,
    OcspRequestData,
)
from evse.clock import Clock
from evse.devicemodel.model import DeviceModel
from evse.ocpp.calls import CallError, CallTimeout, NotConnected
from evse.station.shell.runtime import EvseRuntime
from evse.station.shell.wire_tokens import TokenWire

log = logging.getLogger(__name__)

_CTRLR = "ISO15118Ctrlr"


@dataclass(frozen=True)
class ChainOutcome:
    """The station's word on a V2G certificate chain the CSMS signed: accepted, or rejected with a reason
    code (and its detail) for the answer's status information."""

    accepted: bool
    reason: str | None = None
    detail: str | None = None


class V2gCertificates:
    """The station's side of the ISO 15118 certificate messages (see the module docstring)."""

    def __init__(
        self,
        *,
        station_id: str,
        dm: DeviceModel,
        evses: Mapping[int, EvseRuntime],
        wire: TokenWire,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        state_dir: Path,
        clock: Clock,
    ) -> None:
        self._station_id = station_id
        self._dm = dm
        self._evses = evses
        self._wire = wire
        self._spawn = spawn
        self._state_dir = state_dir
        self._clock = clock
        self.pending_csrs: dict[int, str] = {}  # EVSE id -> the CSR sent to the CSMS, awaiting its chain
        self._attempt: dict[int, int] = {}  # EVSE id -> which request of its A02 series is out (0: the first)
        #: Told when a module's chain or the V2G roots change (M06: their OCSP responses are renewed).
        self.chain_changed: Callable[[], None] = lambda: None

    def bridges(self) -> dict[int, Iso15118CertificateBridge]:
        """The EVSEs whose ISO 15118 module speaks bridge version 2 (certificates)."""
        found: dict[int, Iso15118CertificateBridge] = {}
        for evse_id, runtime in self._evses.items():
            bridge = runtime.drivers.iso15118
            if isinstance(bridge, Iso15118CertificateBridge):
                found[evse_id] = bridge
        return found

    def _enabled(self, variable: str, evse_id: int) -> bool:
        return self._dm.get_bool(_CTRLR, variable, evse_id=evse_id)

    # --- events from the modules ---------------------------------------------------------------------

    def on_event(self, event: Iso15118CertificateRequested | Iso15118V2gCsrPresented) -> None:
        """EventSink part: runs on the loop thread, so the work is spawned."""
        if isinstance(event, Iso15118CertificateRequested):
            self._spawn(self.relay_ev_certificate(event))
        else:
            self._spawn(self._sign(event.evse_id, event.csr_pem))

    async def _sign(self, evse_id: int, csr_pem: str) -> None:
        await self.send_sign_request(evse_id, csr_pem)

    async def relay_ev_certificate(self, event: Iso15118CertificateRequested) -> None:
        """M01/M02: Get15118EVCertificate for the EV's EXI request, the answer back to its module."""
        bridge = self.bridges().get(event.evse_id)
        if bridge is None:
            return
        exi = await self._ev_certificate(event)
        try:
            await bridge.send_ev_certificate_response(event.request_id, exi is not None, exi or b"")
        except DriverError as exc:  # the module repeats its request when it comes back
            log.warning("evse=%s ev certificate answer not delivered: %s", event.evse_id, exc)

    async def _ev_certificate(self, event: Iso15118CertificateRequested) -> bytes | None:
        """The EXI response, or None for Failed."""
        if not self._enabled("ContractCertificateInstallationEnabled", event.evse_id):
            log.info("evse=%s ev certificate %s refused: installation disabled", event.evse_id, event.action)
            return None
        exi_request = base64.b64encode(event.exi_request).decode()
        try:
            response = await self._wire.ev_certificate(event.schema_version, event.action, exi_request)
        except (NotConnected, CallTimeout, CallError) as exc:
            log.warning("evse=%s Get15118EVCertificate not answered: %s", event.evse_id, exc)
            return None
        log.info("evse=%s Get15118EVCertificate %s: %s", event.evse_id, event.action, response.status)
        if not response.accepted:
            return None
        try:
            exi = base64.b64decode(response.exi_response, validate=True)
        except (binascii.Error, ValueError):
            log.warning("evse=%s Get15118EVCertificate: exiResponse is not base64", event.evse_id)
            return None
        return exi or None

    # --- the V2G certificate -------------------------------------------------------------------------

    async def request_csrs(self, evse_id: int | None = None) -> None:
        """TriggerMessage(SignV2GCertificate): ask the module(s) for a new key and CSR (a new A02 series)."""
        for target, bridge in self.bridges().items():
            if evse_id is not None and target != evse_id:
                continue
            if not self._enabled("V2GCertificateInstallationEnabled", target):
                continue
            self._attempt[target] = 0
            await self._ask_csr(target, bridge)

    async def _ask_csr(self, evse_id: int, bridge: Iso15118CertificateBridge) -> None:
        common_name = self._dm.get_str(_CTRLR, "SeccId", evse_id=evse_id) or self._station_id
        organization = self._dm.get_str(_CTRLR, "OrganizationName", evse_id=evse_id)
        country = self._dm.get_str(_CTRLR, "CountryName", evse_id=evse_id)
        try:
            await bridge.request_v2g_csr(common_name, organization, country)
        except DriverError as exc:
            log.warning("evse=%s V2G CSR not asked: %s", evse_id, exc)

    async def _await_signed(self, evse_id: int, csr_pem: str, attempt: int) -> None:
        """A02 for the V2G certificate, as for the station's own: no CertificateSigned for this CSR within
        SecurityCtrlr.CertSigningWaitMinimum seconds (doubled for each repeat) and the module is asked for a
        new key and CSR, which goes out again; CertSigningRepeatTimes repeats at most."""
        wait = max(1, self._dm.get_int("SecurityCtrlr", "CertSigningWaitMinimum")) * 2**attempt
        await asyncio.sleep(wait)
        if self.pending_csrs.get(evse_id) != csr_pem:
            return  # signed, or a newer CSR replaced this one
        repeats = self._dm.get_int("SecurityCtrlr", "CertSigningRepeatTimes")
        if attempt >= repeats:
            log.error("evse=%s no V2G certificate after %d SignCertificate requests", evse_id, attempt + 1)
            return
        bridge = self.bridges().get(evse_id)
        if bridge is None:
            return
        log.warning("evse=%s no CertificateSigned(V2GCertificate) within %ss: asking again", evse_id, wait)
        self._attempt[evse_id] = attempt + 1
        await self._ask_csr(evse_id, bridge)

    async def send_sign_request(self, evse_id: int, csr_pem: str) -> bool | None:
        """SignCertificate(V2GCertificate) with the module's CSR: True accepted, False rejected, None unanswered."""
        if not self._enabled("V2GCertificateInstallationEnabled", evse_id):
            log.info("evse=%s V2G CSR not sent: V2GCertificateInstallationEnabled is false", evse_id)
            return False
        self.pending_csrs[evse_id] = csr_pem
        try:
            accepted = await self._wire.sign_v2g_certificate(csr_pem)
        except (NotConnected, CallTimeout, CallError) as exc:
            log.warning("evse=%s SignCertificate(V2GCertificate) not answered: %s", evse_id, exc)
            return None
        log.info("evse=%s SignCertificate(V2GCertificate): %s", evse_id, "Accepted" if accepted else "Rejected")
        if accepted:  # a Rejected answer ends the series
            self._spawn(self._await_signed(evse_id, csr_pem, self._attempt.get(evse_id, 0)))
        return accepted

    async def certificate_signed(self, chain_pem: str) -> ChainOutcome:
        """CertificateSigned(V2GCertificate): checked, stored, handed to the module whose CSR it answers."""
        from evse.security.cert_store import (
            CertificateRejected,
            CertificateStore,
            CertificateStoreError,
            CertificateUse,
        )
        from evse.security.v2g_chain import V2gChainStore, check_v2g_chain

        store = CertificateStore(self._state_dir)
        try:
            roots = [e.certificate for e in await asyncio.to_thread(store.installed, [CertificateUse.V2G_ROOT])]
            checked = check_v2g_chain(chain_pem, self.pending_csrs, roots, self._clock.now())
            await asyncio.to_thread(V2gChainStore(self._state_dir).save, checked.evse_id, chain_pem)
        except CertificateRejected as exc:
            log.warning("CertificateSigned(V2GCertificate) rejected: %s", exc.detail)
            return ChainOutcome(False, exc.reason, exc.detail)
        except CertificateStoreError as exc:
            log.error("V2G chain not stored: %s", exc)
            return ChainOutcome(False, "WriteError")
        del self.pending_csrs[checked.evse_id]
        self._attempt.pop(checked.evse_id, None)
        bridge = self.bridges().get(checked.evse_id)
        if bridge is not None:
            self._spawn(bridge.set_v2g_certificate_chain(chain_pem))  # state: repeated at every handshake
        self.chain_changed()
        return ChainOutcome(True)

    def sub_ca_entries(self) -> dict[int, list[OcspRequestData]]:
        """M06: per EVSE with a stored V2G chain, the OCSP request data of its Sub-CAs (blocking: files, X.509)."""
        from evse.security.cert_store import CertificateStore, CertificateUse
        from evse.security.v2g_chain import V2gChainStore, sub_ca_request_data

        roots = [e.certificate for e in CertificateStore(self._state_dir).installed([CertificateUse.V2G_ROOT])]
        found: dict[int, list[OcspRequestData]] = {}
        for evse_id, pem in V2gChainStore(self._state_dir).load_all().items():
            try:
                found[evse_id] = sub_ca_request_data(pem, roots)
            except ValueError as exc:
                log.warning("evse=%s stored V2G chain unreadable: %s", evse_id, exc)
        return found

    # --- roots and stored chains -----------------------------------------------------------------------

    async def forward_roots(self) -> None:
        """Hand every module the installed V2G and MO roots (after an install or delete, and at start)."""
        bridges = self.bridges()
        if not bridges:
            return
        from evse.security.cert_store import CertificateStore, CertificateUse

        def read() -> tuple[list[str], list[str]]:
            store = CertificateStore(self._state_dir)
            v2g = [e.path.read_text() for e in store.installed([CertificateUse.V2G_ROOT])]
            mo = [e.path.read_text() for e in store.installed([CertificateUse.MO_ROOT])]
            return v2g, mo

        v2g_roots, mo_roots = await asyncio.to_thread(read)
        self.chain_changed()  # a Sub-CA's issuer may have come or gone with the V2G roots
        for evse_id, bridge in bridges.items():
            try:
                await bridge.set_root_certificates(v2g_roots, mo_roots)
            except (DriverError, ValueError) as exc:
                log.warning("evse=%s roots not handed to the module: %s", evse_id, exc)

    async def start(self) -> None:
        """At boot: the roots and each module's stored chain, which the bridges hand over at the handshake."""
        if not self.bridges():
            return
        from evse.security.v2g_chain import V2gChainStore

        await self.forward_roots()
        chains = await asyncio.to_thread(V2gChainStore(self._state_dir).load_all)
        for evse_id, bridge in self.bridges().items():
            if evse_id in chains:
                try:
                    await bridge.set_v2g_certificate_chain(chains[evse_id])
                except DriverError as exc:
                    log.warning("evse=%s stored V2G chain not handed over: %s", evse_id, exc)
