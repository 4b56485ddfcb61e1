"""The simulated board: physics of the meter, faults, hooks and event delivery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import DriverError
from drivers.interfaces import (
    CableCapacityChanged,
    CardPresented,
    ConnectorLock,
    Contactor,
    DriverEvent,
    EnergyMeter,
    FaultCleared,
    FaultRaised,
    InputChanged,
    Pilot,
    PilotState,
    PilotStateChanged,
    RfidReader,
)
from drivers.sim import KNOWN_FAULTS, SimBoard


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def board(clock: FakeClock) -> SimBoard:
    return SimBoard([1, 2], clock=clock)


@pytest.fixture
def events(board: SimBoard) -> list[DriverEvent]:
    received: list[DriverEvent] = []
    board.attach(received.append)
    return received


async def start_charging(board: SimBoard, evse_id: int = 1, amps: float = 32.0) -> None:
    board.plug(evse_id)
    board.set_ev_state(evse_id, "C")
    await board.pilot(evse_id).set_current_limit(amps)
    await board.contactor(evse_id).close()


# --- physics ------------------------------------------------------------------------------------


async def test_energy_integrates_demand_over_time_when_charging(board: SimBoard, clock: FakeClock) -> None:
    await start_charging(board)
    clock.advance(3600)
    reading = await board.meter(1).read()
    assert reading.power_w == 11_000.0
    assert reading.energy_import_wh == pytest.approx(11_000.0)
    assert reading.timestamp == clock.t
    assert reading.voltage_v == (230.0, 230.0, 230.0)
    assert sum(v * a for v, a in zip(reading.voltage_v, reading.current_a, strict=True)) == pytest.approx(11_000.0)
    assert board.snapshot(2)["energy_import_wh"] == 0.0  # the other EVSE is untouched


@pytest.mark.parametrize("missing", ["contactor", "ev_state", "offer"])
async def test_no_energy_unless_contactor_closed_ev_charging_and_current_offered(
    board: SimBoard, clock: FakeClock, missing: str
) -> None:
    board.plug(1)
    if missing != "ev_state":
        board.set_ev_state(1, PilotState.C)
    if missing != "offer":
        await board.pilot(1).set_current_limit(16)
    if missing != "contactor":
        await board.contactor(1).close()
    clock.advance(3600)
    reading = await board.meter(1).read()
    assert reading.power_w == 0.0
    assert reading.energy_import_wh == 0.0
    assert reading.current_a == (0.0, 0.0, 0.0)


async def test_state_d_charges_like_c(board: SimBoard, clock: FakeClock) -> None:
    await start_charging(board)
    board.set_ev_state(1, "D")
    clock.advance(1800)
    assert (await board.meter(1).read()).energy_import_wh == pytest.approx(5_500.0)


async def test_offered_current_caps_power(board: SimBoard, clock: FakeClock) -> None:
    await start_charging(board, amps=6)
    assert (await board.meter(1).read()).power_w == pytest.approx(6 * 230 * 3)
    board.set_power(1, 2_000)
    assert (await board.meter(1).read()).power_w == 2_000.0


async def test_single_phase_board_reports_one_phase(clock: FakeClock) -> None:
    board = SimBoard([1], clock=clock, phases=1)
    await start_charging(board, amps=16)
    reading = await board.meter(1).read()
    assert reading.power_w == pytest.approx(16 * 230)
    assert len(reading.voltage_v) == len(reading.current_a) == 1


async def test_energy_is_piecewise_exact_across_changes(board: SimBoard, clock: FakeClock) -> None:
    await start_charging(board, amps=32)
    clock.advance(600)  # 10 min at 11 kW
    await board.pilot(1).set_current_limit(None)  # pause
    clock.advance(600)
    await board.pilot(1).set_current_limit(10)  # 6.9 kW
    clock.advance(600)
    await board.contactor(1).open()
    clock.advance(600)
    expected = 11_000 / 6 + 10 * 230 * 3 / 6
    assert (await board.meter(1).read()).energy_import_wh == pytest.approx(expected)


async def test_clock_stepping_back_never_takes_energy_away(board: SimBoard, clock: FakeClock) -> None:
    await start_charging(board)
    clock.advance(3600)
    before = (await board.meter(1).read()).energy_import_wh
    clock.advance(-60)
    assert (await board.meter(1).read()).energy_import_wh == before
    clock.advance(120)  # only the time past the latest instant already counted is new
    assert (await board.meter(1).read()).energy_import_wh == pytest.approx(before + 11_000 * 60 / 3600)


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.floats(0, 7200)),
        st.tuples(st.just("ev"), st.sampled_from(list(PilotState))),
        st.tuples(st.just("offer"), st.one_of(st.none(), st.floats(6, 80))),
        st.tuples(st.just("contactor"), st.booleans()),
        st.tuples(st.just("power"), st.floats(0, 50_000)),
        st.tuples(st.just("backwards"), st.floats(0, 10)),
    ),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(ops=_OPS)
def test_energy_never_decreases_and_power_respects_limits(ops: list[tuple[str, object]]) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        board = SimBoard([1], clock=clock)
        last = 0.0
        for op, arg in ops:
            if op == "advance":
                clock.advance(float(arg))  # type: ignore[arg-type]
            elif op == "backwards":  # a misbehaving clock must not make energy go backwards
                clock.advance(-float(arg))  # type: ignore[arg-type]
            elif op == "ev":
                board.set_ev_state(1, arg)  # type: ignore[arg-type]
            elif op == "offer":
                await board.pilot(1).set_current_limit(arg)  # type: ignore[arg-type]
            elif op == "contactor":
                await (board.contactor(1).close() if arg else board.contactor(1).open())
            else:
                board.set_power(1, float(arg))  # type: ignore[arg-type]
            reading = await board.meter(1).read()
            assert reading.energy_import_wh >= last
            last = reading.energy_import_wh
            snap = board.snapshot(1)
            charging = (
                snap["contactor_closed"] and snap["ev_state"] in ("C", "D") and snap["offered_current_a"] is not None
            )
            if charging:
                offered = snap["offered_current_a"]
                assert offered is not None
                assert reading.power_w == pytest.approx(min(snap["ev_demand_w"], offered * 230 * 3))
            else:
                assert reading.power_w == 0.0

    asyncio.run(scenario())


# --- faults -------------------------------------------------------------------------------------


async def test_meter_lost_raises_until_cleared_and_keeps_counting(
    board: SimBoard, clock: FakeClock, events: list[DriverEvent]
) -> None:
    await start_charging(board)
    events.clear()
    board.raise_fault(1, "meter_lost")
    assert events == [FaultRaised(1, "meter_lost", "meter does not answer")]
    clock.advance(3600)
    with pytest.raises(DriverError, match=r"sim meter evse=1: .*meter_lost"):
        await board.meter(1).read()
    await board.meter(2).read()  # only EVSE 1's meter is lost
    board.clear_fault(1, "meter_lost")
    assert events[1:] == [FaultCleared(1, "meter_lost")]
    assert (await board.meter(1).read()).energy_import_wh == pytest.approx(11_000.0)


async def test_welded_contactor_stays_closed(board: SimBoard, events: list[DriverEvent]) -> None:
    await board.contactor(1).close()
    board.raise_fault(1, "contactor_welded")
    with pytest.raises(DriverError, match="contactor_welded"):
        await board.contactor(1).open()
    assert board.contactor(1).is_closed
    board.clear_fault(1, "contactor_welded")
    await board.contactor(1).open()
    assert not board.contactor(1).is_closed
    assert [type(e) for e in events] == [FaultRaised, FaultCleared]


async def test_contactor_stuck_open_does_not_close(board: SimBoard) -> None:
    board.raise_fault(1, "contactor_stuck_open")
    with pytest.raises(DriverError, match="contactor_stuck_open"):
        await board.contactor(1).close()
    assert not board.contactor(1).is_closed
    assert board.snapshot(1)["contactor_closed"] is False


async def test_lock_failure_and_unlock_failure(board: SimBoard) -> None:
    board.raise_fault(1, "lock_failure")
    with pytest.raises(DriverError, match="lock_failure"):
        await board.lock(1).lock()
    assert not board.lock(1).is_locked
    board.clear_fault(1, "lock_failure")
    await board.lock(1).lock()
    board.raise_fault(1, "unlock_failure")
    with pytest.raises(DriverError, match="unlock_failure"):
        await board.lock(1).unlock()
    assert board.lock(1).is_locked


@pytest.mark.parametrize("name", ["rcd_trip", "emergency_stop", "over_temperature"])
def test_event_only_faults_are_reported_once(board: SimBoard, events: list[DriverEvent], name: str) -> None:
    board.raise_fault(2, name, "detail from test")
    board.raise_fault(2, name)  # already raised: no second event
    board.clear_fault(2, name)
    board.clear_fault(2, name)
    assert events == [FaultRaised(2, name, "detail from test"), FaultCleared(2, name)]
    assert board.snapshot(2)["faults"] == []


def test_unknown_fault_lists_known_ones(board: SimBoard) -> None:
    with pytest.raises(DriverError) as info:
        board.raise_fault(1, "gremlins")
    message = str(info.value)
    assert "gremlins" in message and "\n" not in message
    assert all(name in message for name in KNOWN_FAULTS)
    with pytest.raises(DriverError, match="gremlins"):
        board.clear_fault(1, "gremlins")


# --- hooks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hook",
    [
        lambda b: b.plug(9),
        lambda b: b.unplug(9),
        lambda b: b.set_ev_state(9, "C"),
        lambda b: b.swipe(9, "04A2B3C4"),
        lambda b: b.set_power(9, 1000),
        lambda b: b.raise_fault(9, "rcd_trip"),
        lambda b: b.clear_fault(9, "rcd_trip"),
        lambda b: b.snapshot(9),
        lambda b: b.meter(9),
        lambda b: b.drivers(9),
    ],
)
def test_unknown_evse_is_a_driver_error(board: SimBoard, hook: object) -> None:
    with pytest.raises(DriverError, match=r"unknown EVSE 9 \(known: 1, 2\)"):
        hook(board)  # type: ignore[operator]


def test_set_input_reports_a_digital_input_of_that_evse(board: SimBoard, events: list[DriverEvent]) -> None:
    board.set_input(2, "parking_bay", True)
    board.set_input(2, "parking_bay", False)
    assert events == [InputChanged(2, "parking_bay", True), InputChanged(2, "parking_bay", False)]
    with pytest.raises(DriverError, match="unknown EVSE 9"):
        board.set_input(9, "parking_bay", True)


def test_plug_and_unplug_report_pilot_and_cable(board: SimBoard, events: list[DriverEvent]) -> None:
    board.plug(1, cable_max_current_a=20)
    board.plug(1)  # already plugged: nothing new
    assert board.pilot(1).state is PilotState.B
    board.set_ev_state(1, "C")
    board.unplug(1)
    board.unplug(1)
    assert events == [
        CableCapacityChanged(1, 20),
        PilotStateChanged(1, PilotState.B),
        PilotStateChanged(1, PilotState.C),
        PilotStateChanged(1, PilotState.A),
        CableCapacityChanged(1, None),
    ]


def test_bad_hook_arguments_are_refused(board: SimBoard) -> None:
    with pytest.raises(DriverError, match="unknown pilot state 'X'"):
        board.set_ev_state(1, "X")
    with pytest.raises(DriverError, match=">= 0 W"):
        board.set_power(1, -5)
    with pytest.raises(DriverError, match="> 0 A"):
        board.plug(1, cable_max_current_a=0)
    assert board.snapshot(1)["ev_state"] == "A"


def test_swipe_presents_iso14443_upper_case(board: SimBoard, events: list[DriverEvent]) -> None:
    board.swipe(1, "04a2b3c4d5e6f7")
    board.swipe(2, "deadbeef")
    board.swipe(2, "EMP-0001", token_type="Central")
    assert events == [
        CardPresented(1, "04A2B3C4D5E6F7", "ISO14443"),
        CardPresented(2, "DEADBEEF", "ISO14443"),
        CardPresented(2, "EMP-0001", "Central"),
    ]


@pytest.mark.parametrize(
    ("token", "token_type", "match"),
    [("04A2B3", "ISO14443", "ISO 14443"), ("XYZXYZXY", "ISO14443", "ISO 14443"), ("A", "Mifare", "token type")],
)
def test_swipe_refuses_malformed_tokens(
    board: SimBoard, events: list[DriverEvent], token: str, token_type: str, match: str
) -> None:
    with pytest.raises(DriverError, match=match):
        board.swipe(1, token, token_type=token_type)
    assert events == []


async def test_pilot_refuses_current_outside_iec_range(board: SimBoard) -> None:
    for amps in (0, 5.9, 80.1):
        with pytest.raises(ValueError, match=r"6\.\.80 A"):
            await board.pilot(1).set_current_limit(amps)
    assert board.pilot(1).offered_current_a is None


async def test_snapshot_shows_the_simulated_truth(board: SimBoard, clock: FakeClock) -> None:
    await start_charging(board, amps=16)
    await board.lock(1).lock()
    board.raise_fault(1, "over_temperature")
    clock.advance(360)
    assert board.snapshot(1) == {
        "evse_id": 1,
        "ev_state": "C",
        "cable_max_current_a": None,
        "contactor_closed": True,
        "locked": True,
        "offered_current_a": 16,
        "ev_demand_w": 11_000.0,
        "power_w": 11_000.0,
        "energy_import_wh": pytest.approx(1_100.0),
        "faults": ["over_temperature"],
        "display": None,
        "real_devices": {},
        "iso15118": None,
    }


@pytest.mark.parametrize(
    ("evse_ids", "phases"), [([], 3), ([1, 1], 3), ([0], 3), ([1], 2)], ids=["none", "dup", "zero", "phases"]
)
def test_board_refuses_bad_layout(evse_ids: list[int], phases: int) -> None:
    with pytest.raises(DriverError, match="sim board"):
        SimBoard(evse_ids, phases=phases)


# --- drivers, lifecycle and the event wire ------------------------------------------------------


def test_drivers_satisfy_the_interfaces(board: SimBoard) -> None:
    drivers = board.drivers(2)
    assert drivers.evse_id == 2
    assert isinstance(drivers.meter, EnergyMeter)
    assert isinstance(drivers.contactor, Contactor)
    assert isinstance(drivers.lock, ConnectorLock)
    assert isinstance(drivers.pilot, Pilot)
    assert isinstance(drivers.rfid, RfidReader)
    assert drivers.meter is board.meter(2)
    assert len(drivers.all()) == 7  # meter, contactor, pilot, lock, rfid, display, iso15118


async def test_run_reports_initial_state_and_delivers_each_event_once(board: SimBoard) -> None:
    received: list[DriverEvent] = []
    board.plug(1, cable_max_current_a=32)  # before anyone listens: not delivered
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(d.run(received.append)) for d in board.drivers(1).all()]
        await asyncio.sleep(0)
        assert received == [CableCapacityChanged(1, 32), PilotStateChanged(1, PilotState.B)]
        board.swipe(1, "04A2B3C4")
        assert received[-1] == CardPresented(1, "04A2B3C4", "ISO14443")
        assert len(received) == 3  # the same sink, given to five drivers, gets each event once
        for task in tasks:
            task.cancel()
    board.swipe(1, "04A2B3C4")  # every run() ended: the sink is detached
    assert len(received) == 3
    assert all(task.cancelled() for task in tasks)


async def test_sink_stays_attached_while_any_run_uses_it(board: SimBoard) -> None:
    received: list[DriverEvent] = []
    meter_task = asyncio.create_task(board.meter(1).run(received.append))
    rfid_task = asyncio.create_task(board.rfid(1).run(received.append))
    await asyncio.sleep(0)
    meter_task.cancel()
    await asyncio.gather(meter_task, return_exceptions=True)
    board.swipe(1, "04A2B3C4")
    assert received == [CardPresented(1, "04A2B3C4", "ISO14443")]
    rfid_task.cancel()
    await asyncio.gather(rfid_task, return_exceptions=True)
    assert rfid_task.cancelled()


def test_energy_register_survives_a_new_board_on_the_same_file(tmp_path: Path) -> None:
    now = [0.0]
    register = tmp_path / "registers.json"
    board = SimBoard([1], clock=lambda: now[0], register_file=register)
    state = board._evse(1).state
    state.set_ev_state(PilotState.C)
    state.set_offered_current(16.0)
    state.set_contactor(True)
    now[0] = 3600.0
    first = asyncio.run(board.meter(1).read()).energy_import_wh
    assert first > 1000
    again = SimBoard([1], clock=lambda: 0.0, register_file=register)
    assert asyncio.run(again.meter(1).read()).energy_import_wh == first
