"""Meter sampling: the once-a-second meter read and what follows from it.

Periodic TransactionEvent Updated (TxUpdatedInterval), the TxEnded samples (journaled when one is added),
clock-aligned values (J01), MaxEnergyOnInvalidId, a TxProfile period change, and the values a
TriggerMessage asks for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from drivers.errors import DriverError
from evse.clock import Clock
from evse.devicemodel.model import DeviceModel
from evse.station.core import evse_fsm as fsm
from evse.station.core.aligned import AlignedRoute, aligned_due, aligned_slot, clock_aligned_route
from evse.station.core.meter_values import SamplingConfig, clock_aligned_values, triggered_values, updated_values
from evse.station.core.samples import MeterSample
from evse.station.shell.runtime import EvseRuntime
from evse.station.shell.tx_journal import TxJournal
from evse.station.shell.tx_messages import TransactionMessages


class Metering:
    """Reads the meters and turns readings into the messages the device model asks for."""

    def __init__(
        self,
        evses: dict[int, EvseRuntime],
        dm: DeviceModel,
        clock: Clock,
        messages: TransactionMessages,
        tx_journal: TxJournal,
        *,
        apply: Callable[[int, fsm.Event], None],
        recheck_offer: Callable[[EvseRuntime], None],
    ) -> None:
        self._evses = evses
        self.dm = dm
        self.clock = clock
        self.messages = messages
        self.tx_journal = tx_journal
        self._apply = apply
        self._recheck_offer = recheck_offer
        # Told of every reading, after it is stored on the runtime (load balancing follows the draw).
        self.sampled: list[Callable[[EvseRuntime], None]] = []

    def queue_trigger_update(self, evse_id: int) -> None:
        """TriggerMessage(TransactionEvent): an Updated with triggerReason Trigger, if a transaction runs."""
        runtime = self._evses[evse_id]
        if runtime.reading is None:
            self.messages.update(runtime, "Trigger", [])
            return
        config, now = SamplingConfig.from_device_model(self.dm), self.clock.now()
        values = triggered_values(
            runtime.reading, config, now, phases=self.messages.phases(runtime), in_transaction=True
        )
        self.messages.update(runtime, "Trigger", values)

    def triggered_meter_values(self, evse_id: int) -> list[MeterSample]:
        """TriggerMessage(MeterValues) outside a transaction: AlignedDataCtrlr.Measurands, context Trigger."""
        runtime = self._evses[evse_id]
        if runtime.reading is None:
            return []
        config, now = SamplingConfig.from_device_model(self.dm), self.clock.now()
        return triggered_values(
            runtime.reading,
            config,
            now,
            phases=self.messages.phases(runtime),
            in_transaction=runtime.state.tx is not None,
        )

    async def run_metering(self) -> None:
        """Read every meter each second; periodic TransactionEvent Updated at TxUpdatedInterval."""
        while True:
            for runtime in self._evses.values():
                await self._sample(runtime)
            await asyncio.sleep(1.0)

    async def _sample(self, runtime: EvseRuntime) -> None:
        try:
            runtime.reading = await runtime.drivers.meter.read()
        except DriverError:
            return  # the meter driver reports meter_lost as a fault event
        for listener in self.sampled:
            listener(runtime)
        if runtime.sampler is not None:
            before = len(runtime.sampler.samples)
            runtime.sampler = runtime.sampler.feed(runtime.reading, self.clock.monotonic(), self.clock.now())
            tx = runtime.state.tx
            if tx is not None and len(runtime.sampler.samples) != before:
                self.tx_journal.record_ended_samples(tx.transaction_id, runtime.sampler.to_json())
        start, cap = runtime.tx_start_energy_wh, runtime.energy_cap_wh
        capped = runtime.state.tx is not None and cap is not None and start is not None
        if capped and runtime.reading.energy_import_wh - (start or 0.0) >= (cap or 0.0):
            self._apply(runtime.state.evse_id, fsm.EnergyCapReached())
        self._clock_aligned(runtime)
        if runtime.state.offering:
            self._recheck_offer(runtime)  # a backstop: smart charging re-evaluates at every period boundary
        tx = runtime.state.tx
        interval = self.dm.get_int("SampledDataCtrlr", "TxUpdatedInterval")
        now = self.clock.monotonic()
        if tx is None or interval <= 0 or now - runtime.last_periodic < interval:
            return
        runtime.last_periodic = now
        config = SamplingConfig.from_device_model(self.dm)
        values = updated_values(runtime.reading, config, self.clock.now(), phases=self.messages.phases(runtime))
        self.messages.update(runtime, "MeterValuePeriodic", values)

    def _clock_aligned(self, runtime: EvseRuntime) -> None:
        """J01: clock-aligned samples, in MeterValues outside a transaction, in TransactionEvent inside."""
        config = SamplingConfig.from_device_model(self.dm)
        interval = config.aligned_interval_s
        now = self.clock.now()
        if interval <= 0 or not config.aligned_measurands or runtime.reading is None:
            return
        if runtime.last_aligned is None:
            runtime.last_aligned = aligned_slot(now, interval)  # start counting at the current slot
            return
        if not aligned_due(runtime.last_aligned, now, interval):
            return
        slot = aligned_slot(now, interval)
        runtime.last_aligned = slot
        route = clock_aligned_route(
            evse_in_transaction=runtime.state.tx is not None,
            any_transaction=any(r.state.tx is not None for r in self._evses.values()),
            send_during_idle=config.aligned_send_during_idle,
        )
        values = clock_aligned_values(runtime.reading, config, slot, phases=self.messages.phases(runtime))
        if route is AlignedRoute.METER_VALUES and values:
            self.messages.enqueue(self.messages.wire.meter_values(runtime.state.evse_id, values))
        elif route is AlignedRoute.TRANSACTION_EVENT:
            self.messages.update(runtime, "MeterValueClock", values)
