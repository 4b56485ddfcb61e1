"""The shell's side of authorization: a token presented at an EVSE (card, start button, remote start) is
judged by the Authorizer (cache, local list, CSMS, offline rules: C01-C16), then becomes an Authorized or
a StopRequested event for the EVSE's state machine. Also: what the CSMS later says of a transaction's token
(C15), a group or master-pass stop (C09, C16), a reservation's token or group (H03) and the authorization
that expires without an EV (EVConnectionTimeOut)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from evse.ocpp.calls import NotConnected
from evse.station.core import evse_fsm as fsm
from evse.station.core.authorization import AuthorizationResult
from evse.station.core.reservation_book import IdToken
from evse.station.core.tokens_neutral import TokenStatus, TokenVerdict
from evse.station.shell.registration import Registration
from evse.station.shell.wire_tx import TxAnswer

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)


def group_of(verdict: TokenVerdict) -> IdToken | None:
    """The group of a token's verdict (groupIdToken), as reservations compare tokens."""
    group = verdict.group
    return IdToken(group.value, group.kind.value) if group is not None else None


class AuthorizationFlow:
    """Tokens in, state-machine events out; one per station."""

    def __init__(self, station: Station) -> None:
        self._station = station

    async def authorize(self, id_token: str, token_type: str, evse_id: int | None = None) -> AuthorizationResult:
        """Cache, local list, CSMS or offline rules (C01-C16) decide; see evse/station/shell/authorizer.py."""
        station = self._station

        async def ask_csms() -> TokenVerdict:
            if station.registrar.state is not Registration.Accepted:
                raise NotConnected("boot not accepted")
            return await station.wire.authorize(id_token, token_type)

        online = station.is_online()
        return await station.authorizer.authorize(
            id_token, token_type, online=online, ask_csms=ask_csms, evse_id=evse_id
        )

    async def presented(self, evse_id: int, id_token: str, token_type: str) -> None:
        """A token at an EVSE's reader (or its start button): start, stop, release a cable, or nothing."""
        station = self._station
        runtime = station.evses[evse_id]
        tx = runtime.state.tx
        token = (id_token, token_type)
        if tx is not None and tx.id_token == token:
            await station.stop_with_fresh_reading(runtime, fsm.StopRequested("StopAuthorized", "Local", token))
            return
        screen = station.screen
        if screen is not None:
            screen.authorizing(evse_id, True)
        try:
            result = await self.authorize(id_token, token_type, evse_id)
        finally:
            if screen is not None:
                screen.authorizing(evse_id, False)
        log.info("authorize evse=%s status=%s source=%s", evse_id, result.status.value, result.source.value)
        if screen is not None:
            # I01/I04: the tariff (personalMessage) or its fallback, on the screen of this EVSE.
            screen.authorized(evse_id, result.verdict, result.accepted)
        lock = runtime.drivers.lock
        if runtime.state.tx is None and not runtime.state.ev_connected and lock is not None and lock.is_locked:
            # A cable left locked in the socket (UnlockOnEVSideDisconnect false): a valid card releases it.
            if result.accepted or result.master_pass:
                await station.remote.unlock(evse_id, runtime.connector_id)
            return
        if result.master_pass:
            # C16.FR.03: a station without a user interface to pick one stops every ongoing transaction.
            stop = fsm.StopRequested("StopAuthorized", "MasterPass", token)
            # Only authorized ones: a session still waiting for its card is nobody's to stop (TC_C_14).
            running = [r for r in station.evses.values() if r.state.tx is not None and r.state.tx.id_token is not None]
            log.info("master pass: stopping %s transactions", len(running))
            await asyncio.gather(*(station.stop_with_fresh_reading(r, stop) for r in running))
            return
        tx = runtime.state.tx
        if tx is not None and tx.id_token is not None:
            # Another card at a running session: the same group may stop it (C09).
            if station.authorizer.may_stop(tx.id_token, runtime.group_id, token, result.verdict):
                await station.stop_with_fresh_reading(runtime, fsm.StopRequested("StopAuthorized", "Local", token))
            return
        if result.accepted:
            runtime.group_id = result.group_id_token
            runtime.check_after_reconnect = result.needs_check_after_reconnect
            self.authorized(evse_id, id_token, token_type, None, "Authorized", group_of(result.verdict))

    def authorized(
        self,
        evse_id: int,
        id_token: str,
        token_type: str,
        remote_start_id: int | None,
        trigger: str,
        group: IdToken | None,
    ) -> bool:
        """An accepted token may still be refused here: the EVSE is reserved for someone else (H03; a token
        of the reservation's group may use it, H03.FR.09). Without an EV plugged in, the authorization
        expires after EVConnectionTimeOut."""
        station = self._station
        reservation_id = None
        if station.reservations is not None:
            token, views = IdToken(id_token, token_type), station.evse_views()
            if not station.reservations.allowed(evse_id, token, group, views):
                log.info("evse=%s is reserved for another token: not starting", evse_id)
                return False
            reservation_id = station.reservations.use(evse_id, token, group, views)
        runtime = station.evses[evse_id]
        runtime.authorizations += 1
        station.apply(evse_id, fsm.Authorized(id_token, token_type, remote_start_id, trigger, reservation_id))
        if reservation_id is not None:
            station.refresh_reservations()
        if not runtime.state.ev_connected and runtime.state.token == (id_token, token_type):
            station.spawn(self.ev_connection_timeout(evse_id, runtime.authorizations))
        station.pnc.token_authorized(evse_id, token_type)  # C08: an ISO 15118 EV waiting for EIM may charge
        return True

    async def ev_connection_timeout(self, evse_id: int, authorization: int) -> None:
        """E03/E05/C13: an authorization without an EV plugged in expires after TxCtrlr.EVConnectionTimeOut,
        ending the transaction it started (EVConnectTimeout / Timeout), if any; so does a transaction
        suspended by an EV-side disconnect whose EV does not come back (E10, TC_E_27)."""
        station = self._station
        await asyncio.sleep(station.dm.get_int("TxCtrlr", "EVConnectionTimeOut"))
        runtime = station.evses[evse_id]
        state = runtime.state
        if state.ev_connected or state.token is None or runtime.authorizations != authorization:
            return
        log.info("evse=%s no EV connected within EVConnectionTimeOut: authorization dropped", evse_id)
        station.apply(evse_id, fsm.StopRequested("EVConnectTimeout", "Timeout", force=True))

    def on_transaction_answer(self, answer: TxAnswer) -> None:
        """C10/C15: the CSMS's verdict on the token of a transaction; a refused token may end it."""
        station = self._station
        token, verdict = answer.token, answer.verdict
        if verdict is None or token is None:
            return
        station.authorizer.record(token[0], token[1], verdict)
        if verdict.status is TokenStatus.Accepted:
            return
        tx_id = answer.transaction_id
        for evse_id, runtime in station.evses.items():
            tx = runtime.state.tx
            if tx is None or tx.transaction_id != tx_id:
                continue
            if station.dm.get_bool("TxCtrlr", "StopTxOnInvalidId"):
                log.info("tx=%s token refused by the CSMS (%s): stopping", tx_id, verdict.status.value)
                station.apply(evse_id, fsm.StopRequested("Deauthorized", "DeAuthorized"))
            else:
                # C15/E05.FR.03: charging goes on, up to MaxEnergyOnInvalidId Wh for the whole transaction if
                # that is set; then energy is suspended (SuspendedEVSE) until a stop point ends it.
                cap = station.dm.get_value("TxCtrlr", "MaxEnergyOnInvalidId")
                runtime.energy_cap_wh = float(cap) if cap not in (None, "") else None
                log.warning("tx=%s token refused by the CSMS (%s): energy cap %s Wh", tx_id, verdict.status.value, cap)
