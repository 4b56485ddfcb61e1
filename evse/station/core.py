"""The station shell: feeds driver events to each EVSE's state machine and performs its actions.

It owns the per-EVSE state, turns actions into hardware commands and OCPP messages, and sends
queued messages through the durable outbox in order once the CSMS has accepted the boot. The
contactor is opened first whenever anything goes wrong: a failed command is treated as a fault.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from drivers.errors import DriverError
from drivers.interfaces import (
    CableCapacityChanged,
    CardPresented,
    DriverEvent,
    EvseDrivers,
    FaultCleared,
    FaultRaised,
    InputChanged,
    PilotStateChanged,
)
from evse.clock import Clock
from evse.config import Settings
from evse.devicemodel.model import DeviceModel
from evse.ocpp.outbox import Outbox
from evse.ocpp.rpc import CallError, CallSender, CallTimeout, NotConnected, Resp
from evse.ocpp.v201 import messages as m
from evse.station import evse_fsm as fsm
from evse.station.authorization import AuthorizationResult
from evse.station.authorizer import Authorizer
from evse.station.faults import fault_variable
from evse.station.journal import Journal
from evse.station.metering import Metering
from evse.station.registration import Registrar, Registration
from evse.station.reservations import EvseView, IdToken, Reservations
from evse.station.runtime import EvseRuntime
from evse.station.tx_journal import TxJournal
from evse.station.tx_messages import TransactionMessages
from evse.station.tx_profile import tx_profile_limit_a

log = logging.getLogger(__name__)


class Station:
    """The station core's shell; one per daemon."""

    def __init__(
        self,
        settings: Settings,
        dm: DeviceModel,
        boards: dict[int, EvseDrivers],
        sender: CallSender,
        registrar: Registrar,
        outbox: Outbox,
        journal: Journal,
        tx_journal: TxJournal,
        clock: Clock,
        *,
        is_connected: Callable[[], bool],
        authorizer: Authorizer,
        reservations: Reservations | None = None,
    ) -> None:
        self.settings = settings
        self.dm = dm
        self._sender = sender
        self.registrar = registrar
        self.outbox = outbox
        self.journal = journal
        self.tx_journal = tx_journal
        self.reservations = reservations
        self.authorizer = authorizer
        self.clock = clock
        self._is_connected = is_connected
        self._wake = asyncio.Event()
        self.messages = TransactionMessages(
            settings, dm, outbox, tx_journal, clock, is_connected=is_connected, wake=self._wake.set
        )
        self.reset_requested: asyncio.Event = asyncio.Event()
        self.reset_reason = "RemoteReset"
        self._reset_on_idle = False
        self.evses: dict[int, EvseRuntime] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._offline_since: float | None = None
        self._status_changed_offline: set[int] = set()
        # NotifyEvent eventIds: unique per boot, and the start keeps them apart from earlier boots.
        self._event_ids = itertools.count(int(time.time()) % 100_000 * 1000)
        for evse in settings.evses:
            operative = journal.operative(0, 0) and journal.operative(evse.id, 0) and journal.operative(evse.id, 1)
            state = fsm.EvseState(evse_id=evse.id, operative=operative)
            # The boot report (on_connected) tells the CSMS the initial status; no message for it here.
            state = replace(state, status=fsm.connector_status(state))
            self.evses[evse.id] = EvseRuntime(boards[evse.id], state)
        self.metering = Metering(
            self.evses, dm, clock, self.messages, tx_journal, apply=self.apply, recheck_offer=self._recheck_offer
        )

    # ---- configuration read through the device model ---------------------------------------------
    def _tx_config(self, evse_id: int) -> fsm.TxConfig:
        def points(variable: str) -> frozenset[fsm.TxPoint]:
            values = self.dm.get_list("TxCtrlr", variable)
            return frozenset(fsm.TxPoint(v) for v in values if v in fsm.TxPoint.__members__)

        max_a = next(e.max_current_a for e in self.settings.evses if e.id == evse_id)
        stop_on_disconnect = self.dm.get_bool("TxCtrlr", "StopTxOnEVSideDisconnect")
        may_start = self.registrar.state is Registration.Accepted or self.dm.get_bool(
            "TxCtrlr", "TxBeforeAcceptedEnabled"
        )
        return fsm.TxConfig(points("TxStartPoint"), points("TxStopPoint"), max_a, stop_on_disconnect, may_start)

    def _context(self, evse_id: int) -> fsm.Context:
        return fsm.Context(self._tx_config(evse_id), lambda: str(uuid.uuid4()))

    # ---- events in -------------------------------------------------------------------------------
    def on_driver_event(self, event: DriverEvent) -> None:
        """EventSink for every driver: runs on the loop thread, must not block."""
        runtime = self.evses.get(event.evse_id)
        if runtime is None:
            log.warning("event for unknown evse=%s: %s", event.evse_id, event)
            return
        if isinstance(event, PilotStateChanged):
            self.apply(event.evse_id, fsm.PilotChanged(event.state))
        elif isinstance(event, CableCapacityChanged):
            runtime.cable_max_a = event.max_current_a
        elif isinstance(event, CardPresented):
            self._spawn(self._authorize(event.evse_id, event.id_token, event.token_type))
        elif isinstance(event, InputChanged) and event.name == "parking_bay":
            self.apply(event.evse_id, fsm.BayChanged(event.active))
        elif isinstance(event, InputChanged) and event.name == "start_button" and event.active:
            # C01 with the NoAuthorization token type: a start button instead of a card.
            self._spawn(self._authorize(event.evse_id, "", "NoAuthorization"))
        elif isinstance(event, FaultRaised):
            log.warning("fault evse=%s name=%s %s", event.evse_id, event.name, event.detail)
            self.apply(event.evse_id, fsm.FaultChanged(event.name, True))
            self._report_fault(event.evse_id, event.name, True, event.detail)
        elif isinstance(event, FaultCleared):
            log.info("fault cleared evse=%s name=%s", event.evse_id, event.name)
            self.apply(event.evse_id, fsm.FaultChanged(event.name, False))
            self._report_fault(event.evse_id, event.name, False, None)

    def _report_fault(self, evse_id: int, name: str, active: bool, detail: str | None) -> None:
        """Set the component's variable and tell the CSMS (NotifyEvent, HardWiredNotification)."""
        where = fault_variable(name)
        runtime = self.evses[evse_id]
        evse = None if where.scope == "station" else evse_id
        connector = runtime.connector_id if where.scope == "connector" else None
        self.dm.set_station_value(where.component, where.variable, active, evse_id=evse, connector_id=connector)
        # The station-wide Problem flag follows whether any EVSE still has a fault.
        any_fault = any(r.state.faults for r in self.evses.values())
        self.dm.set_station_value("ChargingStation", "Problem", any_fault)
        component = m.ComponentType(
            name=where.component,
            evse=m.EVSEType(id=evse_id, connectorId=connector) if evse is not None else None,
        )
        event = m.EventDataType(
            eventId=next(self._event_ids),
            timestamp=self.clock.now(),
            trigger=m.EventTriggerEnumType.Delta,
            actualValue="true" if active else "false",
            techInfo=(f"{name}: {detail}" if detail else name)[:500],
            cleared=None if active else True,
            eventNotificationType=m.EventNotificationEnumType.HardWiredNotification,
            component=component,
            variable=m.VariableType(name=where.variable),
        )
        request = m.NotifyEventRequest(generatedAt=self.clock.now(), seqNo=0, eventData=[event])
        self.messages.enqueue(request)

    # ---- remote control (F01-F05, E14) -------------------------------------------------------------
    def remote_start(
        self,
        evse_id: int | None,
        id_token: str,
        token_type: str,
        remote_start_id: int,
        profile: m.ChargingProfileType | None = None,
    ) -> tuple[str, str | None]:
        """RequestStartTransaction: (status, transactionId of a transaction already running there)."""
        if profile is not None and profile.chargingProfilePurpose is not m.ChargingProfilePurposeEnumType.TxProfile:
            return "Rejected", None  # only a TxProfile may come with a remote start (F01)
        candidates = [evse_id] if evse_id is not None else list(self.evses)
        for candidate in candidates:
            runtime = self.evses.get(candidate)
            if runtime is None:
                continue
            state = runtime.state
            if state.faults or not state.operative or state.token is not None:
                continue
            if state.tx is not None and state.tx.id_token is not None:
                continue
            runtime.tx_profile = profile
            self._spawn(self._remote_authorize(candidate, id_token, token_type, remote_start_id))
            return "Accepted", state.tx.transaction_id if state.tx is not None else None
        return "Rejected", None

    async def _remote_authorize(self, evse_id: int, id_token: str, token_type: str, remote_start_id: int) -> None:
        if self.dm.get_bool("AuthCtrlr", "AuthorizeRemoteStart"):
            result = await self.authorize(id_token, token_type, evse_id)
            if not result.accepted:
                log.info("remote start evse=%s refused: %s", evse_id, result.status.value)
                self.evses[evse_id].tx_profile = None
                return
        if self._authorized(evse_id, id_token, token_type, remote_start_id, "RemoteStart"):
            self._spawn(self._ev_connection_timeout(evse_id, remote_start_id))

    async def _ev_connection_timeout(self, evse_id: int, remote_start_id: int) -> None:
        """E: an authorization without an EV plugged in expires after TxCtrlr.EVConnectionTimeOut."""
        await asyncio.sleep(self.dm.get_int("TxCtrlr", "EVConnectionTimeOut"))
        state = self.evses[evse_id].state
        if state.ev_connected or state.remote_start_id != remote_start_id:
            return
        log.info("evse=%s no EV connected within EVConnectionTimeOut: authorization dropped", evse_id)
        self.apply(evse_id, fsm.StopRequested("EVConnectTimeout", "Timeout"))

    def remote_stop(self, transaction_id: str) -> str:
        for runtime in self.evses.values():
            if runtime.state.tx is not None and runtime.state.tx.transaction_id == transaction_id:
                self._spawn(self._stop_with_fresh_reading(runtime, fsm.StopRequested("RemoteStop", "Remote")))
                return "Accepted"
        return "Rejected"

    async def _stop_with_fresh_reading(self, runtime: EvseRuntime, stop: fsm.StopRequested) -> None:
        """Read the meter once more before a deliberate stop, so Transaction.End is the register at the
        moment the power path opens rather than the last once-a-second sample."""
        try:
            async with asyncio.timeout(0.5):
                runtime.reading = await runtime.drivers.meter.read()
        except (DriverError, TimeoutError):
            pass  # the last sample it is; the stop must not wait for a meter in trouble
        self.apply(runtime.state.evse_id, stop)

    async def unlock(self, evse_id: int, connector_id: int) -> str:
        runtime = self.evses.get(evse_id)
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
        if transaction_id is None:
            return None, self.outbox.has_transaction_messages(None)
        ongoing = any(
            r.state.tx is not None and r.state.tx.transaction_id == transaction_id for r in self.evses.values()
        )
        return ongoing, self.outbox.has_transaction_messages(transaction_id)

    async def _authorize(self, evse_id: int, id_token: str, token_type: str) -> None:
        runtime = self.evses[evse_id]
        tx = runtime.state.tx
        if tx is not None and tx.id_token == (id_token, token_type):
            await self._stop_with_fresh_reading(runtime, fsm.StopRequested("StopAuthorized", "Local"))
            return
        result = await self.authorize(id_token, token_type, evse_id)
        log.info("authorize evse=%s status=%s source=%s", evse_id, result.status.value, result.source.value)
        await self._show_personal_message(runtime, result.info)
        lock = runtime.drivers.lock
        if runtime.state.tx is None and not runtime.state.ev_connected and lock is not None and lock.is_locked:
            # A cable left locked in the socket (UnlockOnEVSideDisconnect false): a valid card releases it.
            if result.accepted or result.master_pass:
                await self.unlock(evse_id, runtime.connector_id)
            return
        tx = runtime.state.tx
        if tx is not None and tx.id_token is not None and self.authorizer is not None:
            # Another card at a running session: the same group (C09) or a master pass (C16) may stop it.
            if self.authorizer.may_stop(tx.id_token, runtime.group_id, (id_token, token_type), result.info):
                await self._stop_with_fresh_reading(runtime, fsm.StopRequested("StopAuthorized", "Local"))
            return
        if result.accepted:
            runtime.group_id = result.group_id_token
            runtime.check_after_reconnect = result.needs_check_after_reconnect
            self._authorized(evse_id, id_token, token_type, None, "Authorized")

    async def _show_personal_message(self, runtime: EvseRuntime, info: m.IdTokenInfoType) -> None:
        """C: the CSMS's personalMessage for the driver goes to the EVSE's display, if it has one."""
        display, message = runtime.drivers.display, info.personalMessage
        if display is None or message is None:
            return
        try:
            await display.show(message.content, message.language)
        except DriverError as exc:
            log.warning("display evse=%s: %s", runtime.state.evse_id, exc)

    def _authorized(
        self, evse_id: int, id_token: str, token_type: str, remote_start_id: int | None, trigger: str
    ) -> bool:
        """An accepted token may still be refused here: the EVSE is reserved for someone else (H03)."""
        reservation_id = None
        if self.reservations is not None:
            token, views = IdToken(id_token, token_type), self.evse_views()
            if not self.reservations.allowed(evse_id, token, None, views):
                log.info("evse=%s is reserved for another token: not starting", evse_id)
                return False
            reservation_id = self.reservations.use(evse_id, token, None, views)
        self.apply(evse_id, fsm.Authorized(id_token, token_type, remote_start_id, trigger, reservation_id))
        if reservation_id is not None:
            self.refresh_reservations()
        return True

    # ---- reservations (H01-H04) ------------------------------------------------------------------
    def evse_views(self) -> dict[int, EvseView]:
        types = {e.id: tuple(c.type for c in e.connectors) for e in self.settings.evses}
        return {
            i: EvseView((r.state.status or fsm.connector_status(r.state)).value, types[i])
            for i, r in self.evses.items()
        }

    def refresh_reservations(self) -> None:
        """Show Reserved where a reservation holds an EVSE, and nowhere else."""
        if self.reservations is None:
            return
        reserved = self.reservations.reserved_evses(self.evse_views())
        for evse_id, runtime in self.evses.items():
            if runtime.state.reserved != (evse_id in reserved):
                self.apply(evse_id, fsm.ReservedChanged(evse_id in reserved))

    def expire_reservations(self) -> None:
        if self.reservations is None:
            return
        for update in self.reservations.expire():
            self.messages.enqueue(update)
        self.refresh_reservations()

    def _status_changed(self, evse_id: int) -> None:
        if self.reservations is None:
            return
        for update in self.reservations.on_evse_status(evse_id, self.evse_views()):
            self.messages.enqueue(update)
        self.refresh_reservations()

    async def authorize(self, id_token: str, token_type: str, evse_id: int | None = None) -> AuthorizationResult:
        """Cache, local list, CSMS or offline rules (C01-C16) decide; see evse/station/authorizer.py."""

        async def ask_csms() -> m.IdTokenInfoType:
            if self.registrar.state is not Registration.Accepted:
                raise NotConnected("boot not accepted")
            token = m.IdTokenType(idToken=id_token, type=m.IdTokenEnumType(token_type))
            answer = await self._sender.call(m.AuthorizeRequest(idToken=token), m.AuthorizeResponse)
            return answer.idTokenInfo

        online = self._is_connected() and self.registrar.state is Registration.Accepted
        return await self.authorizer.authorize(id_token, token_type, online=online, ask_csms=ask_csms, evse_id=evse_id)

    def _on_transaction_answer(self, payload: dict[str, Any], answer: m.TransactionEventResponse) -> None:
        """C10/C15: the CSMS's verdict on the token of a transaction; a refused token may end it."""
        info = answer.idTokenInfo
        token = payload.get("idToken")
        if info is None or token is None:
            return
        self.authorizer.record(token["idToken"], token["type"], info)
        if info.status is m.AuthorizationStatusEnumType.Accepted:
            return
        tx_id = payload["transactionInfo"]["transactionId"]
        for evse_id, runtime in self.evses.items():
            tx = runtime.state.tx
            if tx is None or tx.transaction_id != tx_id:
                continue
            if self.dm.get_bool("TxCtrlr", "StopTxOnInvalidId"):
                log.info("tx=%s token refused by the CSMS (%s): stopping", tx_id, info.status.value)
                self.apply(evse_id, fsm.StopRequested("Deauthorized", "DeAuthorized"))
            else:
                # C15: charging goes on, but only up to MaxEnergyOnInvalidId Wh for the whole transaction.
                cap = self.dm.get_value("TxCtrlr", "MaxEnergyOnInvalidId")
                runtime.energy_cap_wh = float(cap) if cap not in (None, "") else None
                log.warning("tx=%s token refused by the CSMS (%s): energy cap %s Wh", tx_id, info.status.value, cap)

    def apply(self, evse_id: int, event: fsm.Event) -> None:
        """Run one event through the EVSE's state machine and perform the resulting actions."""
        runtime = self.evses[evse_id]
        runtime.state, actions = fsm.transition(runtime.state, event, self._context(evse_id))
        for action in actions:
            self._perform(runtime, action)
        if runtime.state.tx is None:
            self._after_transaction(runtime)
        if any(isinstance(a, fsm.SendStatus) for a in actions):
            self._status_changed(evse_id)

    def _perform(self, runtime: EvseRuntime, action: fsm.Action) -> None:
        if isinstance(action, fsm.SetContactor):
            self._spawn(self._drive_contactor(runtime, action.closed))
        elif isinstance(action, fsm.SetPilotCurrent):
            self._spawn(self._drive_pilot(runtime, action.amps))
        elif isinstance(action, fsm.SendStatus):
            self.queue_status(runtime.state.evse_id, runtime.connector_id, action.status)
        elif isinstance(action, fsm.SendTransactionEvent):
            self.messages.transaction_event(runtime, action)

    async def _drive_contactor(self, runtime: EvseRuntime, closed: bool) -> None:
        evse_id, lock = runtime.state.evse_id, runtime.drivers.lock
        if closed and lock is not None:
            try:
                await lock.lock()  # the plug is held before power flows
            except DriverError as exc:
                log.error("lock evse=%s: %s", evse_id, exc)
                self.apply(evse_id, fsm.FaultChanged("lock_failure", True))  # keeps the contactor open
                return
        try:
            if closed:
                await runtime.drivers.contactor.close()
            else:
                await runtime.drivers.contactor.open()
        except DriverError as exc:
            # Safety first: a contactor that did not obey is a fault, which opens the power path.
            name = "contactor_stuck_open" if closed else "contactor_welded"
            log.error("contactor evse=%s: %s", evse_id, exc)
            self.apply(evse_id, fsm.FaultChanged(name, True))
            return
        ev_gone = not runtime.state.ev_connected
        unlock_allowed = not ev_gone or self.dm.get_bool("OCPPCommCtrlr", "UnlockOnEVSideDisconnect")
        if not closed and lock is not None and runtime.state.tx is None and unlock_allowed:
            try:
                # The session is over: release the plug (if the EV left first, only with
                # UnlockOnEVSideDisconnect; otherwise a valid card or UnlockConnector releases it).
                await lock.unlock()
            except DriverError as exc:
                log.error("unlock evse=%s: %s", evse_id, exc)  # the lock driver reports unlock_failure

    def _offer_limit(self, runtime: EvseRuntime, amps: float) -> float | None:
        """The offer after the cable's rating (IEC 61851-1) and the transaction's TxProfile cap it."""
        if runtime.cable_max_a is not None:
            amps = min(amps, runtime.cable_max_a)
        profile, started = runtime.tx_profile, runtime.tx_started_at
        if profile is not None and started is not None:
            limit = tx_profile_limit_a(profile, started, self.clock.now(), self.messages.phases(runtime))
            if limit is not None:
                amps = min(amps, limit)
        return amps if amps >= 6 else None  # below 6 A no PWM offer is allowed: the EV must not charge

    def _recheck_offer(self, runtime: EvseRuntime) -> None:
        max_a = next(e.max_current_a for e in self.settings.evses if e.id == runtime.state.evse_id)
        if self._offer_limit(runtime, max_a) != runtime.offered_a:
            self._spawn(self._drive_pilot(runtime, max_a))

    async def _drive_pilot(self, runtime: EvseRuntime, amps: float | None) -> None:
        if amps is not None:
            amps = self._offer_limit(runtime, amps)
        runtime.offered_a = amps
        try:
            await runtime.drivers.pilot.set_current_limit(amps)
        except DriverError as exc:
            log.error("pilot evse=%s: %s", runtime.state.evse_id, exc)
            self.apply(runtime.state.evse_id, fsm.FaultChanged("pilot_failure", True))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # Short hardware/authorization jobs started from the synchronous event sink; failures are logged
        # here because nobody awaits them, and the contactor logic already treats them as faults.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("station job failed", exc_info=task.exception())

    # ---- outgoing messages -----------------------------------------------------------------------
    def queue_status(self, evse_id: int, connector_id: int, status: fsm.ConnectorStatus) -> None:
        self._record_availability(evse_id, connector_id, status)
        if not self._is_connected() and not self.dm.get_bool("OCPPCommCtrlr", "QueueAllMessages"):
            # Offline without QueueAllMessages: only the latest status matters; it is reported on reconnect.
            self._status_changed_offline.add(evse_id)
            return
        payload = m.StatusNotificationRequest(
            timestamp=self.clock.now(),
            connectorStatus=m.ConnectorStatusEnumType(status.value),
            evseId=evse_id,
            connectorId=connector_id,
        )
        self.messages.enqueue(payload)

    def _record_availability(self, evse_id: int, connector_id: int, status: fsm.ConnectorStatus) -> None:
        # AvailabilityState of Connector, EVSE and the station, as GetVariables / SummaryInventory report.
        self.dm.set_station_value(
            "Connector", "AvailabilityState", status.value, evse_id=evse_id, connector_id=connector_id
        )
        self.dm.set_station_value("EVSE", "AvailabilityState", status.value, evse_id=evse_id)
        states = {r.state.status for r in self.evses.values()}
        station = (
            "Unavailable"
            if not self.journal.operative(0, 0)
            else ("Faulted" if states == {fsm.ConnectorStatus.Faulted} else "Available")
        )
        self.dm.set_station_value("ChargingStation", "AvailabilityState", station)

    async def call_direct(self, request: m.OcppRequest, response_type: type[Resp]) -> Resp:
        """Send now, not through the outbox (triggered messages that only matter while online)."""
        return await self._sender.call(request, response_type)

    async def run_sender(self) -> None:
        """Send outbox entries in order while connected and accepted; never returns."""
        while True:
            entry = self.outbox.peek()
            if entry is None or not self._is_connected() or self.registrar.state is not Registration.Accepted:
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait([waiter], timeout=1.0)
                finally:
                    waiter.cancel()
                continue
            request = m.REQUESTS[entry.action].model_validate(entry.payload)
            try:
                answer = await self._sender.call(request, m.RESPONSES[entry.action])
            except NotConnected:
                continue
            except (CallTimeout, CallError) as exc:
                # Retried with backoff; a message the CSMS rejects forever would block the queue, so
                # give up after MessageAttempts (OCPPCommCtrlr, TransactionEvent instance).
                attempts = self.dm.get_int("OCPPCommCtrlr", "MessageAttempts", variable_instance="TransactionEvent")
                if entry.attempts + 1 >= max(1, attempts):
                    log.error("dropping %s after %s attempts: %s", entry.action, entry.attempts + 1, exc)
                    self.outbox.remove(entry.id)
                    continue
                # Only failures are counted on disk: a delivered message costs one write (its removal).
                self.outbox.record_attempt(entry.id)
                interval = self.dm.get_int(
                    "OCPPCommCtrlr", "MessageAttemptInterval", variable_instance="TransactionEvent"
                )
                await asyncio.sleep(interval * (entry.attempts + 1))
                continue
            self.outbox.remove(entry.id)
            if isinstance(answer, m.TransactionEventResponse):
                self._on_transaction_answer(entry.payload, answer)

    async def on_connected(self) -> None:
        """New websocket: register, then report every connector (B01.FR.05 / after an offline period)."""
        first = self.registrar.state is not Registration.Accepted
        await self.registrar.register()
        offline_for = self.clock.monotonic() - self._offline_since if self._offline_since is not None else 0.0
        long_offline = offline_for > self.dm.get_int("OCPPCommCtrlr", "OfflineThreshold")
        # At boot, or after more than OfflineThreshold offline, every connector is reported; after a
        # short outage only those whose status changed meanwhile (B04, TC_B_51/52).
        report = set(self.evses) if first or long_offline else set(self._status_changed_offline)
        self._status_changed_offline.clear()
        self._offline_since = None
        for evse_id in sorted(report):
            runtime = self.evses[evse_id]
            status = fsm.connector_status(runtime.state)
            runtime.state = replace(runtime.state, status=status)
            self.queue_status(evse_id, runtime.connector_id, status)
        self._wake.set()

    def on_disconnected(self) -> None:
        if self._offline_since is None:
            self._offline_since = self.clock.monotonic()

    # ---- meter sampling --------------------------------------------------------------------------
    async def run_timers(self) -> None:
        """Once a second: reservations that expired (H04); once a minute: stale cache entries (C10)."""
        for tick in itertools.count():
            self.expire_reservations()
            if tick % 60 == 0:
                self.authorizer.prune_cache()
            await asyncio.sleep(1.0)

    # ---- availability and reset (G03-G04, B11-B12) -----------------------------------------------
    def has_transaction(self, evse_id: int | None = None) -> bool:
        return any(r.state.tx is not None for i, r in self.evses.items() if evse_id in (None, i))

    def change_availability(self, evse_id: int, connector_id: int, operative: bool) -> str:
        """Apply ChangeAvailability; returns Accepted or Scheduled (transaction running)."""
        self.journal.set_operative(evse_id, connector_id, operative)
        targets = list(self.evses) if evse_id == 0 else [evse_id]
        scheduled = False
        for target in targets:
            runtime = self.evses[target]
            effective = self._effective_operative(target)
            if runtime.state.tx is not None and not effective:
                runtime.pending_operative = effective
                scheduled = True
            else:
                self.apply(target, fsm.OperativeChanged(effective))
        return "Scheduled" if scheduled else "Accepted"

    def _effective_operative(self, evse_id: int) -> bool:
        j = self.journal
        return j.operative(0, 0) and j.operative(evse_id, 0) and j.operative(evse_id, 1)

    def _after_transaction(self, runtime: EvseRuntime) -> None:
        if runtime.pending_operative is not None:
            operative, runtime.pending_operative = runtime.pending_operative, None
            self.apply(runtime.state.evse_id, fsm.OperativeChanged(operative))
        if self._reset_on_idle and not self.has_transaction():
            self._reset_on_idle = False
            self.reset_requested.set()
        if runtime.pending_reset and runtime.state.tx is None:
            runtime.pending_reset = False
            evse_id = runtime.state.evse_id

            async def reset_evse() -> None:
                # An EVSE reset (B11/B12 with evseId) re-initialises this EVSE only: it is Unavailable
                # (StatusNotification) with its power path safe while its drivers start afresh, then
                # takes the availability it had before; no reboot, the other EVSEs charge on.
                self.apply(evse_id, fsm.StopRequested("ResetCommand", "ImmediateReset"))  # drops the token
                self.apply(evse_id, fsm.OperativeChanged(False))
                try:
                    await runtime.drivers.contactor.open()
                    await runtime.drivers.pilot.set_current_limit(None)
                except DriverError as exc:
                    # Left Unavailable: the safe state for an EVSE whose hardware did not come back.
                    log.error("evse reset failed evse=%s: %s", evse_id, exc)
                    return
                self.apply(evse_id, fsm.OperativeChanged(self._effective_operative(evse_id)))

            self._spawn(reset_evse())

    def request_reset(self, immediate: bool, evse_id: int | None = None) -> str:
        """Decide a Reset: Accepted (call `begin_reset` once the answer left) or Scheduled (OnIdle, waits
        for the running transactions to end, then resets by itself). With ``evse_id`` only that EVSE and
        its transaction count (B12)."""
        if evse_id is not None:
            runtime = self.evses[evse_id]
            if immediate or runtime.state.tx is None:
                return "Accepted"
            runtime.pending_reset = True
            return "Scheduled"
        self.journal.set_boot_reason("RemoteReset")
        if immediate or not self.has_transaction():
            return "Accepted"
        self._reset_on_idle = True
        return "Scheduled"

    def begin_reset(self, evse_id: int | None = None) -> None:
        """End every transaction (ImmediateReset), then let the daemon restart; with ``evse_id``, end that
        EVSE's transaction and reset that EVSE alone (B12)."""
        targets = list(self.evses) if evse_id is None else [evse_id]
        for target in targets:
            runtime = self.evses[target]
            if evse_id is not None:
                runtime.pending_reset = True  # performed by _after_transaction once the EVSE is idle
            if runtime.state.tx is not None:
                self.apply(target, fsm.StopRequested("ResetCommand", "ImmediateReset"))
            elif evse_id is not None:
                self._after_transaction(runtime)
        if evse_id is None:
            self.reset_requested.set()

    async def flush(self, timeout: float) -> None:
        """Give the sender a moment to deliver what is queued (before a reset or shutdown)."""
        try:
            async with asyncio.timeout(timeout):
                # The outbox is a table, not an event source: poll it.
                while len(self.outbox) and self._is_connected():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            log.warning("%s messages still queued; they are kept for the next boot", len(self.outbox))

    async def open_all(self) -> None:
        """Open every contactor, then withdraw every offer (shutdown, reset): the safe state. Each step
        on its own, so a pilot that no longer answers cannot keep a contactor closed."""
        for runtime in self.evses.values():
            try:
                await runtime.drivers.contactor.open()
            except DriverError as exc:
                log.error("could not open contactor evse=%s: %s", runtime.state.evse_id, exc)
            try:
                await runtime.drivers.pilot.set_current_limit(None)
            except DriverError as exc:
                log.warning("could not withdraw the pilot offer evse=%s: %s", runtime.state.evse_id, exc)

    def snapshot(self) -> dict[str, Any]:
        """What `evse status` shows."""
        return {
            "registration": self.registrar.state.value,
            "connected": self._is_connected(),
            "queued_messages": len(self.outbox),
            "evses": [
                {
                    "id": evse_id,
                    "status": (r.state.status or fsm.connector_status(r.state)).value,
                    "pilot": r.state.pilot.value,
                    "charging_state": fsm.charging_state(r.state),
                    "transaction_id": r.state.tx.transaction_id if r.state.tx else None,
                    "contactor_closed": r.state.contactor_closed,
                    "operative": r.state.operative,
                    "faults": sorted(r.state.faults),
                    "power_w": r.reading.power_w if r.reading else 0.0,
                    "energy_wh": r.reading.energy_import_wh if r.reading else 0.0,
                }
                for evse_id, r in self.evses.items()
            ],
        }
