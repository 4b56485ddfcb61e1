"""The shell of Plug & Charge (C07, M06) and of EIM over ISO 15118 (C08): what the EVSE's ISO 15118 module
reports becomes an authorization, and the authorization goes back to the module.

- A CONTRACT: the chain's OCSP status (cache, else GetCertificateStatus through the CSMS), then the eMAID
  through the station's authorization rules with an Authorize carrying the chain's hash data;
  the verdict (evse/station/core/contract_auth.py) is sent to the module as AUTHORIZATION, and an accepted
  eMAID authorizes the EVSE like any token (type eMAID), so the transaction carries it.
- EIM: a card or an app (remote start) accepted at an EVSE whose module has an EV session tells the module
  the session is authorized; the EV waits for that before it charges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from drivers.errors import DriverError
from drivers.interfaces import (
    Iso15118ContractPresented,
    Iso15118SessionStarted,
    Iso15118SessionStopped,
)
from evse.devicemodel.model import DeviceModel
from evse.errors import DeviceModelError
from evse.ocpp.calls import NotConnected
from evse.station.core.authorization import AuthorizationSource
from evse.station.core.contract_auth import (
    CertificateStatus,
    ContractSettings,
    ContractVerdict,
    after_authorizing,
    before_authorizing,
    chain_check,
    contract_ignored,
    send_certificate,
)
from evse.station.core.reservation_book import IdToken
from evse.station.core.tokens_neutral import TokenStatus, TokenVerdict
from evse.station.shell.authorization_flow import group_of
from evse.station.shell.ocsp_cache import OcspCache
from evse.station.shell.registration import Registration

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)

EMAID = "eMAID"


def _flag(dm: DeviceModel, evse_id: int, variable: str, default: bool) -> bool:
    try:
        return dm.get_bool("ISO15118Ctrlr", variable, evse_id=evse_id)
    except DeviceModelError:  # a definition set without the variable: the default of our own set
        return default


def contract_settings(dm: DeviceModel, evse_id: int) -> ContractSettings:
    """ISO15118Ctrlr of the EVSE (the component is per EVSE: each has its own module)."""
    return ContractSettings(
        pnc_enabled=_flag(dm, evse_id, "PnCEnabled", True),
        contract_validation_offline=_flag(dm, evse_id, "ContractValidationOffline", True),
        central_contract_validation_allowed=_flag(dm, evse_id, "CentralContractValidationAllowed", False),
    )


@dataclass
class _ModuleSession:
    evcc_id: str
    answered: bool = False  # an AUTHORIZATION went to the module for this session


class PlugAndCharge:
    """ISO 15118 module events in, authorizations out; one per station."""

    def __init__(self, station: Station) -> None:
        self._station = station
        self.ocsp = OcspCache(station.clock)
        self._sessions: dict[int, _ModuleSession] = {}
        #: The verdict of each EVSE's last contract (for `evse status` and tests).
        self.last_verdict: dict[int, ContractVerdict] = {}

    def on_event(self, event: Iso15118SessionStarted | Iso15118ContractPresented | Iso15118SessionStopped) -> None:
        """Called from Station.on_driver_event on the loop thread; the slow part is spawned."""
        if isinstance(event, Iso15118SessionStarted):
            self._sessions[event.evse_id] = _ModuleSession(event.evcc_id)
            log.info("evse=%s iso15118 session protocol=%s", event.evse_id, event.protocol.value)
            token = self._station.evses[event.evse_id].state.token
            if token is not None and token[1] != EMAID:
                # C08: the driver identified (card, app) before the EV opened its session.
                self._station.spawn(self._tell_module(event.evse_id, True))
        elif isinstance(event, Iso15118SessionStopped):
            log.info("evse=%s iso15118 session stopped reason=%s", event.evse_id, event.reason.value)
            self._sessions.pop(event.evse_id, None)
        else:
            self._station.spawn(self.authorize_contract(event))

    def token_authorized(self, evse_id: int, token_type: str) -> None:
        """C08: a token other than a contract was accepted at the EVSE: an EV session waiting there may charge."""
        session = self._sessions.get(evse_id)
        if token_type == EMAID or session is None or session.answered:
            return
        self._station.spawn(self._tell_module(evse_id, True))

    async def authorize_contract(self, event: Iso15118ContractPresented) -> None:
        """C07 for one contract; nothing at all when PnCEnabled is false (no answer: the session waits for EIM)."""
        station, evse_id = self._station, event.evse_id
        settings = contract_settings(station.dm, evse_id)
        if contract_ignored(settings):
            log.info("evse=%s contract ignored: ISO15118Ctrlr.PnCEnabled is false", evse_id)
            return
        if station.evses[evse_id].state.token is not None:
            # The EVSE's session is authorized already (a card before the contract, C08, or the same contract
            # replayed by a module that rebooted mid-session): the EV may charge under that authorization.
            log.info("evse=%s contract presented to an authorized session: accepted as it stands", evse_id)
            await self._tell_module(evse_id, True)
            return
        verdict, group = await self._judge(event, settings)
        self.last_verdict[evse_id] = verdict
        log.info("evse=%s contract accepted=%s (%s)", evse_id, verdict.accepted, verdict.reason)
        accepted = verdict.accepted
        if accepted and event.emaid is not None:
            # The token may still be refused here (the EVSE is reserved for someone else, H03).
            accepted = station.tokens.authorized(evse_id, event.emaid, EMAID, None, "Authorized", group)
        await self._tell_module(evse_id, accepted)

    async def _judge(
        self, event: Iso15118ContractPresented, settings: ContractSettings
    ) -> tuple[ContractVerdict, IdToken | None]:
        station, evse_id = self._station, event.evse_id
        online = station.is_online()
        hashes = event.certificate_hash_data

        if online:
            statuses = await self.ocsp.refresh(hashes, station.wire.certificate_status)
        else:
            statuses = [self.ocsp.lookup(entry) for entry in hashes]
        early = before_authorizing(settings, chain_check(statuses, station.clock.now()))
        if early is not None:
            return early, None
        emaid = event.emaid
        if emaid is None:
            # OCPP's Authorize needs an idToken; a contract with hash data only has none to give.
            return ContractVerdict(False, "no eMAID in the contract: nothing to authorize in OCPP"), None
        certificate_status: CertificateStatus | None = None
        asked_failed = False

        async def ask_csms() -> TokenVerdict:
            nonlocal certificate_status, asked_failed
            if station.registrar.state is not Registration.Accepted:
                asked_failed = True
                raise NotConnected("boot not accepted")
            with_certificate = send_certificate(
                settings, has_hash_data=bool(hashes), has_certificate=event.certificate_pem is not None
            )
            certificate = event.certificate_pem if with_certificate else None
            try:
                answer = await station.wire.authorize_contract(emaid, hashes, certificate)
            except BaseException:
                asked_failed = True
                raise
            certificate_status = answer.certificate_status
            verdict = answer.verdict
            good = CertificateStatus.Accepted
            if certificate_status not in (None, good) and verdict.status is TokenStatus.Accepted:
                # The cache must never hold an Accepted eMAID whose certificate the CSMS refused: offline, that
                # entry alone would let the contract charge.
                verdict = replace(verdict, status=TokenStatus.Invalid)
            return verdict

        result = await station.authorizer.authorize(emaid, EMAID, online=online, ask_csms=ask_csms, evse_id=evse_id)
        judged_offline = result.source is not AuthorizationSource.CSMS and (not online or asked_failed)
        verdict = after_authorizing(
            settings,
            token_accepted=result.accepted,
            judged_offline=judged_offline,
            certificate_status=certificate_status,
        )
        if verdict.accepted:
            runtime = station.evses[evse_id]
            runtime.group_id = result.group_id_token
            runtime.check_after_reconnect = result.needs_check_after_reconnect
        return verdict, group_of(result.verdict)

    async def _tell_module(self, evse_id: int, accepted: bool) -> None:
        bridge = self._station.evses[evse_id].drivers.iso15118
        if bridge is None:
            return
        session = self._sessions.get(evse_id)
        if session is not None:
            session.answered = True
        try:
            await bridge.send_authorization(accepted)
        except DriverError as exc:
            # No session or the module is away: its replay after the next handshake brings the contract back.
            log.warning("evse=%s AUTHORIZATION not delivered to the module: %s", evse_id, exc)
