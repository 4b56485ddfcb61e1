"""Remote control of transactions (F01-F05, E14): RequestStart/StopTransaction, UnlockConnector and
GetTransactionStatus, as the station decides them. The handlers in evse/ocpp/v201/handlers/transactions.py only
translate messages to these calls."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from drivers.errors import DriverError
from evse.smartcharging.model import Profile
from evse.station.core import evse_fsm as fsm
from evse.station.core.reservation_book import IdToken
from evse.station.shell.authorization_flow import group_of

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)


class RemoteControl:
    """What the CSMS may ask of a station's transactions; one per station."""

    def __init__(self, station: Station) -> None:
        self._station = station

    def remote_start(
        self,
        evse_id: int | None,
        id_token: str,
        token_type: str,
        remote_start_id: int,
        profile: Profile | None = None,
        group: IdToken | None = None,
    ) -> tuple[str, str | None]:
        """RequestStartTransaction: (status, transactionId of a transaction already running there)."""
        if profile is not None and not self._station.dm.get_bool("SmartChargingCtrlr", "Enabled"):
            profile = None  # K05: without smart charging the profile is ignored, the start is not (TC_K_38)
        if profile is not None and not self._station.smart_charging.check_remote_start(evse_id, profile).accepted:
            return "Rejected", None  # only a TxProfile with a valid schedule may come with a remote start (F01)
        evses = self._station.evses
        candidates = [evse_id] if evse_id is not None else list(evses)
        for candidate in candidates:
            runtime = evses.get(candidate)
            if runtime is None:
                continue
            state = runtime.state
            if state.faults or not state.operative or state.token is not None:
                continue
            if state.tx is not None and state.tx.id_token is not None:
                continue
            runtime.pending_profile, runtime.pending_remote_start_id = profile, remote_start_id
            self._station.spawn(self._remote_authorize(candidate, id_token, token_type, remote_start_id, group))
            return "Accepted", state.tx.transaction_id if state.tx is not None else None
        return "Rejected", None

    async def _remote_authorize(
        self, evse_id: int, id_token: str, token_type: str, remote_start_id: int, group: IdToken | None
    ) -> None:
        station = self._station
        if station.dm.get_bool("AuthCtrlr", "AuthorizeRemoteStart"):
            result = await station.tokens.authorize(id_token, token_type, evse_id)
            if not result.accepted:
                log.info("remote start evse=%s refused: %s", evse_id, result.status.value)
                station.evses[evse_id].pending_profile = None
                return
            group = group_of(result.verdict) or group
        station.tokens.authorized(evse_id, id_token, token_type, remote_start_id, "RemoteStart", group)

    def remote_stop(self, transaction_id: str) -> str:
        for runtime in self._station.evses.values():
            if runtime.state.tx is not None and runtime.state.tx.transaction_id == transaction_id:
                stop = fsm.StopRequested("RemoteStop", "Remote")
                self._station.spawn(self._station.stop_with_fresh_reading(runtime, stop))
                return "Accepted"
        return "Rejected"

    async def unlock(self, evse_id: int, connector_id: int) -> str:
        runtime = self._station.evses.get(evse_id)
        if runtime is None or connector_id != runtime.connector_id:
            return "UnknownConnector"
        if runtime.state.tx is not None and runtime.state.tx.id_token is not None:
            return "OngoingAuthorizedTransaction"  # F05.FR.02: stop it first (RequestStopTransaction)
        lock = runtime.drivers.lock
        if lock is None:
            return "Unlocked"  # a tethered cable has no lock to open
        try:
            await lock.unlock()
        except DriverError as exc:
            log.error("unlock evse=%s failed: %s", evse_id, exc)
            return "UnlockFailed"
        return "Unlocked"

    def transaction_status(self, transaction_id: str | None) -> tuple[bool | None, bool]:
        """GetTransactionStatus: (ongoingIndicator or None when no id given, messagesInQueue)."""
        outbox = self._station.outbox
        if transaction_id is None:
            return None, outbox.has_transaction_messages(None)
        ongoing = any(
            r.state.tx is not None and r.state.tx.transaction_id == transaction_id for r in self._station.evses.values()
        )
        return ongoing, outbox.has_transaction_messages(transaction_id)
