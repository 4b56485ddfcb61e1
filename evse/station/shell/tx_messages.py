"""TransactionEvents into the durable outbox: numbered, journaled, recovered after a power loss.

Every TransactionEvent is built and put in the outbox in the same SQLite transaction that advances the
transaction's seqNo in the journal (evse/station/tx_journal.py), so numbering survives any crash; a
transaction left open by a crash is ended once at start-up with stoppedReason PowerLoss.

When the disk refuses a write (full, read-only: the station's storage fault), the whole write waits in
memory, in order, and so does every later one, until the storage fault's probe finds the disk writable
and calls `flush_backlog`: seqNo is taken only when the write lands, so the numbering has no gap and
each message reaches the outbox, hence the CSMS, exactly once. Messages about no transaction
(StatusNotification, NotifyEvent, MeterValues) are not held: they are sent directly if the CSMS is
connected (`direct`), since the latest status is what matters and is reported again on reconnect.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence

from evse.clock import Clock
from evse.config import Settings
from evse.devicemodel.model import DeviceModel
from evse.errors import StorageError
from evse.ocpp.calls import OcppMessage
from evse.ocpp.outbox import Outbox
from evse.station.core import evse_fsm as fsm
from evse.station.core.meter_values import ENERGY_IMPORT, SamplingConfig, ended_values, started_values
from evse.station.core.samples import Measurand, MeterSample, Reading, ReadingContext, Unit
from evse.station.core.tx_ended import TxEndedSampler
from evse.station.shell.runtime import EvseRuntime
from evse.station.shell.tx_journal import TxJournal, TxRecord
from evse.station.shell.wire_tx import TxEvent, TxWire

log = logging.getLogger(__name__)

# Writes held while the disk refuses them; past this many (hours of a long outage) new periodic
# Updated events are dropped (a visible seqNo gap never appears: they were never numbered), Started and
# Ended are always kept.
MAX_BACKLOG = 10_000


class TransactionMessages:
    """Writes the station's outgoing messages to the outbox; TransactionEvents with their journal."""

    def __init__(
        self,
        settings: Settings,
        dm: DeviceModel,
        outbox: Outbox,
        tx_journal: TxJournal,
        clock: Clock,
        wire: TxWire,
        *,
        is_connected: Callable[[], bool],
        wake: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.dm = dm
        self.outbox = outbox
        self.tx_journal = tx_journal
        self.clock = clock
        self.wire = wire
        self._is_connected = is_connected
        self._wake = wake
        self._backlog: deque[Callable[[], None]] = deque()
        # Sends a message now, bypassing the outbox (set by the storage fault; None: such messages are lost).
        self.direct: Callable[[OcppMessage], None] | None = None

    @property
    def backlog(self) -> int:
        """Writes waiting for the disk to take them."""
        return len(self._backlog)

    def _durably(self, write: Callable[[], None], *, essential: bool) -> bool:
        """Run one atomic write now, or hold it (in order) while the disk refuses writes; False if held."""
        if not self._backlog:
            try:
                write()
                return True
            except StorageError as exc:
                log.error("write refused by the disk, held in memory until it recovers: %s", exc)
                self.outbox.recount()
        if len(self._backlog) >= MAX_BACKLOG and not essential:
            log.error("storage backlog full (%s): dropping a periodic transaction update", MAX_BACKLOG)
            return False
        self._backlog.append(write)
        return False

    def flush_backlog(self) -> bool:
        """Write what the disk refused, in order; True when nothing is left (the disk took everything)."""
        while self._backlog:
            try:
                self._backlog[0]()
            except StorageError as exc:
                log.warning("disk still refuses writes (%s held): %s", len(self._backlog), exc)
                self.outbox.recount()
                return False
            self._backlog.popleft()
        self._wake()
        return True

    def phases(self, runtime: EvseRuntime) -> int:
        return next(e.phases for e in self.settings.evses if e.id == runtime.state.evse_id)

    def transaction_event(self, runtime: EvseRuntime, action: fsm.SendTransactionEvent) -> None:
        reading = runtime.reading
        now = self.clock.now()
        config = SamplingConfig.from_device_model(self.dm)
        phases = self.phases(runtime)
        values: list[MeterSample] = []
        if action.event_type == "Started":
            runtime.sampler = TxEndedSampler.start(config, self.clock.monotonic(), now, phases=phases)
            runtime.tx_start_energy_wh = reading.energy_import_wh if reading else None
            runtime.energy_cap_wh = None
            runtime.tx_started_at = now
            if reading is not None:
                values = started_values(reading, config, now, phases=phases)
        elif action.event_type == "Ended":
            collected = runtime.sampler.samples if runtime.sampler is not None else ()
            values = ended_values(collected, reading, config, now, phases=phases)
            runtime.sampler = None
            runtime.tx_started_at = None
        # The token goes with the event that brings it: Started, the Updated of a late authorization, or the
        # event of a stop by another token than the one that started the transaction (group, master pass).
        token = action.stopped_by or (
            action.id_token
            if action.event_type == "Started" or action.trigger_reason in ("Authorized", "RemoteStart")
            else None
        )
        started = action.event_type == "Started"
        event = TxEvent(
            event_type=action.event_type,
            at=now,
            trigger=action.trigger_reason,
            transaction_id=action.transaction_id,
            charging_state=action.charging_state,
            offline=not self._is_connected(),
            samples=tuple(values),
            stopped_reason=action.stopped_reason,
            remote_start_id=action.remote_start_id,
            token=token,
            reservation_id=action.reservation_id,
            phases=phases if started else None,
            cable_max_a=int(runtime.cable_max_a) if started and runtime.cable_max_a is not None else None,
            outlet=(runtime.state.evse_id, runtime.connector_id) if started else None,
        )

        log.info(
            "transaction evse=%s tx=%s %s trigger=%s",
            runtime.state.evse_id,
            action.transaction_id,
            action.event_type,
            action.trigger_reason,
        )
        energy = reading.energy_import_wh if reading else None

        def write() -> None:
            with self.tx_journal.atomic():
                if action.event_type == "Started":
                    self.tx_journal.open(
                        action.transaction_id,
                        runtime.state.evse_id,
                        runtime.connector_id,
                        action.id_token,
                        action.remote_start_id,
                        action.charging_state,
                        energy,
                    )
                elif action.trigger_reason == "Authorized" and action.id_token is not None:
                    self.tx_journal.record_token(action.transaction_id, action.id_token)
                self._write(event)
                if action.event_type == "Ended":
                    self.tx_journal.close(action.transaction_id)

        if self._durably(write, essential=action.event_type != "Updated"):
            self._wake()

    def _write(self, event: TxEvent) -> None:
        """Inside `tx_journal.atomic()`: number the event, put it in the outbox, remember the energy."""
        request = self.wire.transaction_event(event, self.tx_journal.take_seq_no(event.transaction_id))
        self.outbox.put(
            request.ACTION, request.model_dump(mode="json", exclude_none=True), transaction_id=event.transaction_id
        )
        # Remember the energy exactly as reported: a PowerLoss end repeats it.
        for sample in event.samples:
            for reading in sample.values:
                if reading.measurand == ENERGY_IMPORT:
                    self.tx_journal.record_energy(event.transaction_id, reading.value)

    def update(self, runtime: EvseRuntime, trigger: str, samples: Sequence[MeterSample]) -> None:
        """A TransactionEvent Updated carrying meter values (periodic, clock-aligned or triggered); `trigger` is
        the core's trigger reason (MeterValuePeriodic, MeterValueClock, Trigger, ChargingRateChanged ...)."""
        tx = runtime.state.tx
        if tx is None:
            return
        event = TxEvent(
            event_type="Updated",
            at=self.clock.now(),
            trigger=trigger,
            transaction_id=tx.transaction_id,
            charging_state=tx.charging_state,
            offline=not self._is_connected(),
            samples=tuple(samples),
            # A trigger for every EVSE gets one Updated per EVSE: F06.FR.11 wants each to say which.
            outlet=(runtime.state.evse_id, runtime.connector_id) if trigger == "Trigger" else None,
        )

        def write() -> None:
            with self.tx_journal.atomic():
                self._write(event)

        if self._durably(write, essential=False):
            self._wake()

    def recover(self) -> None:
        """End the transactions a power loss or crash left open (E: stoppedReason PowerLoss), once,
        with the last energy recorded; their seqNo continues where it stopped."""
        for record in self.tx_journal.open_transactions():
            now = self.clock.now()
            collected = list(TxEndedSampler.from_json(record.ended_samples).samples) if record.ended_samples else []
            energies = [r.value for sample in collected for r in sample.values if r.measurand == ENERGY_IMPORT]
            end_energy = max([*energies, record.last_energy_wh]) if record.last_energy_wh is not None else None
            if end_energy is not None:
                # No location: the value comes from the journal, not from a reading at the outlet now.
                final = Reading(
                    Measurand.ENERGY_ACTIVE_IMPORT_REGISTER, end_energy, ReadingContext.TRANSACTION_END, Unit.WH
                )
                collected.append(MeterSample(at=now, values=(final,)))
            event = TxEvent(
                event_type="Ended",
                at=now,
                trigger="AbnormalCondition",
                transaction_id=record.transaction_id,
                charging_state="Idle",
                offline=True,  # it happened while the station was down
                samples=tuple(collected),
                stopped_reason="PowerLoss",
                remote_start_id=record.remote_start_id,
            )

            def write(record: TxRecord = record, event: TxEvent = event) -> None:
                with self.tx_journal.atomic():
                    self._write(event)
                    self.tx_journal.close(record.transaction_id)

            log.warning("transaction tx=%s was interrupted (power loss or crash): ending it", record.transaction_id)
            self._durably(write, essential=True)
        if not self._backlog:
            try:
                self.tx_journal.prune_closed()
            except StorageError as exc:
                log.warning("closed transactions not pruned: %s", exc)
        self._wake()

    def enqueue(self, request: OcppMessage, *, transaction_id: str | None = None, protocol: str = "2.0.1") -> None:
        """Queue a message; `protocol` is the OCPP version its payload is written in (1.6 for the few only
        1.6 has, the station's 2.0.1 vocabulary for everything else)."""

        def write() -> None:
            payload = request.model_dump(mode="json", exclude_none=True)
            self.outbox.put(request.ACTION, payload, transaction_id=transaction_id, protocol=protocol)

        if transaction_id is not None:
            if self._durably(write, essential=True):
                self._wake()
            return
        if not self._backlog:
            try:
                write()
                self._wake()
                return
            except StorageError as exc:
                log.error("%s not queued, the disk refuses writes: %s", request.ACTION, exc)
        if self.direct is not None:
            self.direct(request)
