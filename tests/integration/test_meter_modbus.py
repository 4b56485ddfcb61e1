"""ModbusMeter against the emulated meter on the far end of a real pty, through pyserial and pymodbus."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from drivers.errors import DriverError
from drivers.interfaces import DriverEvent, EnergyMeter, FaultCleared, FaultName, FaultRaised
from drivers.meter.modbus import ModbusMeter
from drivers.meter.register_map import load_register_map, map_path
from drivers.meter.registers import DataType
from hil.emulators.meter import FaultMode, MeterEmulator, MeterValues
from hil.emulators.pty_link import PtyLink

MODELS = ["abb_b23", "carlo_gavazzi_em340", "eastron_sdm630", "eastron_sdm72d_m"]


def meter_on(
    port: str | Path,
    model: str = "eastron_sdm630",
    *,
    timeout_s: float = 0.1,
    retries: int = 2,
    poll_interval_s: float = 0.01,
    **kwargs: object,
) -> ModbusMeter:
    """A meter with test-sized timeouts (a real line wants ~0.5 s)."""
    return ModbusMeter(
        evse_id=int(kwargs.pop("evse_id", 1)),  # type: ignore[call-overload]
        model=None if "map_file" in kwargs else model,
        port=str(port),
        timeout_s=timeout_s,
        retries=retries,
        poll_interval_s=poll_interval_s,
        **kwargs,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def emulated(model: str = "eastron_sdm630", **kwargs: object) -> AsyncIterator[tuple[MeterEmulator, PtyLink]]:
    emu = MeterEmulator(load_register_map(map_path(model)), **kwargs)  # type: ignore[arg-type]
    with PtyLink.open() as link:
        task = asyncio.create_task(emu.serve(link.master_fd))
        try:
            yield emu, link
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def polling(
    meter: ModbusMeter, also: Callable[[DriverEvent], None] | None = None
) -> AsyncIterator[list[DriverEvent]]:
    events: list[DriverEvent] = []

    def sink(event: DriverEvent) -> None:
        events.append(event)
        if also is not None:
            also(event)

    task = asyncio.create_task(meter.run(sink))
    try:
        yield events
        assert not task.done(), "run() must only end by cancellation"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for a condition the driver's own task makes true (no event to wait on from outside)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def faults(events: list[DriverEvent]) -> list[DriverEvent]:
    return [e for e in events if isinstance(e, FaultRaised | FaultCleared)]


VALUES = MeterValues(
    voltage_v=(229.9, 230.4, 231.2),
    current_a=(15.97, 16.02, 0.5),
    power_w=7_360.5,
    energy_import_wh=1_234_567.0,
    energy_export_wh=4_200.0,
    frequency_hz=49.9,
)


@pytest.mark.parametrize("model", MODELS)
async def test_each_map_reads_what_the_meter_was_set_to_in_the_planned_requests(model: str) -> None:
    async with emulated(model, values=VALUES, address=17) as (emu, link):
        meter = meter_on(link.slave_path, model, address=17)
        assert isinstance(meter, EnergyMeter)
        reading = await meter.read()
        resolution = {r.feeds: r.factor / 2 + 1e-9 for r in meter.register_map.registers if r.type != DataType.FLOAT32}

        for field in ("voltage_v", "current_a", "power_w", "energy_import_wh", "energy_export_wh", "frequency_hz"):
            expected = pytest.approx(getattr(VALUES, field), rel=1e-6, abs=resolution.get(field, 0.0))
            assert getattr(reading, field) == expected, field
        planned = [(b.function, b.start, b.count) for b in meter.plan]
        assert [(r.function, r.address, r.count) for r in emu.requests] == planned
        await meter.read()
        assert len(emu.requests) == 2 * len(planned)


async def test_sdm630_is_read_in_three_requests_per_poll() -> None:
    async with emulated("eastron_sdm630") as (emu, link):
        meter = meter_on(link.slave_path)
        async with polling(meter):
            await until(lambda: meter.poll_count >= 3)
            polls, requests = meter.poll_count, len(emu.requests)
        assert 3 * polls <= requests <= 3 * polls + 2  # a poll may have been cut off mid-way
        assert {(r.function, r.address, r.count) for r in emu.requests} == {(4, 0x00, 12), (4, 0x34, 2), (4, 0x46, 6)}


async def test_absent_port_is_a_driver_error_then_meter_lost_not_a_crash(tmp_path: Path) -> None:
    meter = meter_on(tmp_path / "ttyUSB9", "abb_b23", evse_id=3)
    with pytest.raises(DriverError, match=r"ttyUSB9: no such port"):
        await meter.read()
    async with polling(meter) as events:
        await until(lambda: bool(events))
        await asyncio.sleep(0.05)  # keeps polling, still no crash
    (lost,) = faults(events)
    assert isinstance(lost, FaultRaised)
    assert (lost.evse_id, lost.name) == (3, FaultName.METER_LOST)
    assert "no such port" in lost.detail


async def test_silent_meter_times_out_is_lost_after_retries_and_recovers() -> None:
    async with emulated() as (emu, link):
        meter = meter_on(link.slave_path, timeout_s=0.05, retries=3)
        silent_when_raised: list[int] = []

        def snapshot(event: DriverEvent) -> None:
            if isinstance(event, FaultRaised):
                silent_when_raised.append(sum(r.answer == "silent" for r in emu.requests))

        async with polling(meter, also=snapshot) as events:
            await until(lambda: meter.poll_count >= 1)
            emu.set_fault(FaultMode.SILENT)
            await until(lambda: meter.is_lost)
            assert silent_when_raised == [3]  # raised at the 3rd failed poll (each stops at its 1st block)
            with pytest.raises(DriverError, match=r"meter lost: no answer to FC4 0x0000\+12 within 0.05 s"):
                await meter.read()
            emu.clear_fault()
            await until(lambda: not meter.is_lost)
            reading = await meter.read()
        assert reading.voltage_v == (230.0, 230.0, 230.0)
        assert faults(events) == [
            FaultRaised(1, FaultName.METER_LOST, "no answer to FC4 0x0000+12 within 0.05 s"),
            FaultCleared(1, FaultName.METER_LOST),
        ]


async def test_failures_fewer_than_retries_raise_nothing() -> None:
    async with emulated() as (emu, link):
        meter = meter_on(link.slave_path, timeout_s=0.05, retries=3)
        async with polling(meter) as events:
            await until(lambda: meter.poll_count >= 1)
            emu.set_fault(FaultMode.SILENT, count=2)
            await until(lambda: emu.fault is FaultMode.NONE)
            done = meter.poll_count
            await until(lambda: meter.poll_count > done + 2)
        assert sum(r.answer == "silent" for r in emu.requests) == 2
        assert faults(events) == []


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        (FaultMode.EXCEPTION, r"exception 4 \(server device failure\) to FC4 0x0000\+12"),
        (FaultMode.CORRUPT_CRC, r"garbled answer to FC4 0x0000\+12 \(29 bytes, bad CRC or garbage\)"),
        (FaultMode.GARBAGE, r"garbled answer to FC4 0x0000\+12 \(\d+ bytes, bad CRC or garbage\)"),
    ],
)
async def test_exception_responses_crc_errors_and_garbage_lose_the_meter_until_it_answers(
    mode: FaultMode, detail: str
) -> None:
    async with emulated() as (emu, link):
        meter = meter_on(link.slave_path, evse_id=2)
        emu.set_fault(mode)
        async with polling(meter) as events:
            await until(lambda: meter.is_lost)
            with pytest.raises(DriverError, match=detail):
                await meter.read()
            emu.clear_fault()
            await until(lambda: not meter.is_lost)
        lost, cleared = faults(events)
        assert isinstance(lost, FaultRaised) and isinstance(cleared, FaultCleared)


async def test_a_request_over_the_meters_limit_gets_its_exception(tmp_path: Path) -> None:
    # A map claiming 125 registers per request, against an SDM72D-M that takes 60: exception 3.
    greedy = tmp_path / "greedy_sdm72d_m.yaml"
    greedy.write_text(
        map_path("eastron_sdm72d_m")
        .read_text()
        .replace("max_registers_per_request: 60", "max_registers_per_request: 125")
        .replace("max_gap_registers: 10", "max_gap_registers: 64")
    )
    async with emulated("eastron_sdm72d_m") as (_emu, link):
        meter = meter_on(link.slave_path, map_file=greedy)
        assert [(b.start, b.count) for b in meter.plan] == [(0, 76)]
        with pytest.raises(DriverError, match=r"exception 3 \(illegal data value\) to FC4 0x0000\+76"):
            await meter.read()


async def test_a_meter_at_another_address_is_silence() -> None:
    async with emulated(address=1) as (emu, link):
        meter = meter_on(link.slave_path, address=2)
        with pytest.raises(DriverError, match="no answer"):
            await meter.read()
        assert emu.requests == []


async def test_energy_decreasing_is_rejected_as_a_bad_read() -> None:
    async with emulated(values=MeterValues(energy_import_wh=50_000.0)) as (emu, link):
        meter = meter_on(link.slave_path)
        assert (await meter.read()).energy_import_wh == 50_000.0
        emu.set_values(energy_import_wh=49_000.0)
        with pytest.raises(DriverError, match=r"energy_import_wh went backwards: 49000\.0 Wh after 50000\.0 Wh"):
            await meter.read()
        async with polling(meter) as events:
            await until(lambda: meter.is_lost)
            emu.set_values(energy_import_wh=51_000.0)
            await until(lambda: not meter.is_lost)
        assert (await meter.read()).energy_import_wh == 51_000.0
        lost = faults(events)[0]
        assert isinstance(lost, FaultRaised) and "went backwards" in lost.detail


async def test_read_while_polling_returns_the_pollers_reading_without_bus_traffic() -> None:
    async with emulated() as (emu, link):
        meter = meter_on(link.slave_path, poll_interval_s=60)
        async with polling(meter):
            await until(lambda: meter.poll_count == 1)
            before = len(emu.requests)
            first = await meter.read()
            again = await meter.read()
            assert first is again
            assert len(emu.requests) == before


async def test_lost_before_run_is_reported_when_run_starts(tmp_path: Path) -> None:
    meter = meter_on(tmp_path / "gone", retries=1, poll_interval_s=60)
    with pytest.raises(DriverError, match="no such port"):
        await meter.read()
    assert meter.is_lost
    async with polling(meter) as events:
        await until(lambda: bool(events))
    assert isinstance(events[0], FaultRaised) and "no such port" in events[0].detail


async def test_run_stops_when_cancelled_even_while_answers_keep_arriving() -> None:
    # Python 3.11's wait_for (inside pymodbus) drops a cancel that coincides with an answer.
    async with emulated() as (_emu, link):
        meter = meter_on(link.slave_path, poll_interval_s=0)
        for pause in (0.0, 0.001, 0.002, 0.003, 0.005, 0.008, 0.013, 0.021):
            task = asyncio.create_task(meter.run(lambda _e: None))
            await asyncio.sleep(pause)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                async with asyncio.timeout(2):
                    await task
        assert meter.poll_count > 0


async def test_zero_interval_polls_back_to_back() -> None:
    async with emulated() as (_emu, link):
        meter = meter_on(link.slave_path, timeout_s=0.5, poll_interval_s=0)
        async with polling(meter):
            await asyncio.sleep(0.3)
        assert meter.poll_count >= 20  # hundreds on a pty; a 1 s interval would give 1


async def test_unplugged_adapter_is_lost_and_a_replugged_one_recovers(tmp_path: Path) -> None:
    # As with a USB adapter behind a udev symlink: the tty goes away and comes back as another one.
    port = tmp_path / "meter0"
    first = PtyLink.open()
    emu = MeterEmulator(load_register_map(map_path("eastron_sdm630")))
    serving = asyncio.create_task(emu.serve(first.master_fd))
    port.symlink_to(first.slave_path)
    meter = meter_on(port)
    try:
        async with polling(meter) as events:
            await until(lambda: meter.poll_count >= 1)
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            first.close()  # unplugged
            await until(lambda: meter.is_lost)
            lost = faults(events)[0]
            assert isinstance(lost, FaultRaised)
            async with emulated() as (_emu, second):
                port.unlink()
                port.symlink_to(second.slave_path)  # plugged in again
                await until(lambda: not meter.is_lost)
                polls = meter.poll_count
                await until(lambda: meter.poll_count > polls)
    finally:
        first.close()
    assert [type(e) for e in faults(events)] == [FaultRaised, FaultCleared]


async def test_values_follow_the_meter_between_polls() -> None:
    async with emulated() as (emu, link):
        meter = meter_on(link.slave_path)
        async with polling(meter):
            await until(lambda: meter.poll_count >= 1)
            emu.set_values(power_w=0.0, current_a=(0.0, 0.0, 0.0), energy_import_wh=2_000_000.0)
            async with asyncio.timeout(5):
                while (reading := await meter.read()).power_w != 0.0:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
        assert dataclasses.astuple(reading)[:4] == (2_000_000.0, 0.0, 0.0, (230.0, 230.0, 230.0))
