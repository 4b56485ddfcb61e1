"""`evse selftest`: a bring-up self-test of a real board, device by device, without CSMS or daemon.

It builds the drivers from the ``board:`` section exactly as the daemon does, runs each driver's
``run(sink)`` and checks, per EVSE and in this order:

1. meter      a reading arrives and shows a plausible mains voltage;
2. pilot      the pilot (safety MCU) answers and measures CP state A: no EV plugged in;
3. contactor  closes and opens, confirmed by its auxiliary contact; only when check 2 saw state A
              (never with an EV, or with no answer from the pilot, on the line);
4. lock       locks and unlocks, confirmed by its switch (SKIP without a lock);
5. card       a card is read within ``--card-timeout`` (SKIP with ``--no-card`` or without a reader);
6. iso15118   the ISO 15118 module answers the bridge's handshake (SKIP without a module).

One line per check: ``PASS``, ``FAIL`` or ``SKIP``, the EVSE, the check and what was seen. The exit
code is 0 only if nothing failed. The daemon must not be running: it holds the same ports and pins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from drivers.errors import DriverError
from drivers.interfaces import (
    ISO15118_FAILURE,
    CardPresented,
    ConnectorLock,
    Contactor,
    DriverEvent,
    EnergyMeter,
    FaultCleared,
    FaultName,
    FaultRaised,
    Pilot,
    PilotState,
    PilotStateChanged,
)
from drivers.pilot.messages import StatusFlag
from drivers.pilot.safety_mcu import PILOT_FAILURE, SafetyMcuPilot
from evse.board import DeviceSpec, EvseBoard, build_drivers, parse_board
from evse.config import Settings
from evse.errors import EvseError

log = logging.getLogger(__name__)

#: A phase voltage a working meter on 100-240 V mains reports (the highest phase is judged: a
#: three-phase meter on a single-phase supply reads 0 V on L2/L3).
PLAUSIBLE_VOLTAGE_V: Final = (85.0, 300.0)
#: Faults the pilot's own device reports that make toggling the contactor pointless or unsafe.
_PILOT_FAULTS: Final = frozenset(
    {PILOT_FAILURE, FaultName.RCD_TRIP, FaultName.EMERGENCY_STOP, FaultName.CONTACTOR_WELDED, "pilot_diode_missing"}
)
_RFID_FAILURE: Final = "rfid_failure"
#: How long the contactor stays closed in the test: long enough for a contact that drops out to show.
_HOLD_S: Final = 0.2


class SelftestError(EvseError):
    """The self-test cannot run at all (nothing to test, the daemon holds the devices)."""


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check of one EVSE."""

    evse_id: int
    check: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        return f"{self.verdict.value}  evse {self.evse_id} {self.check:<9} {self.detail}"


def exit_code(results: Iterable[CheckResult]) -> int:
    """0 when no check failed, else 1."""
    return 1 if any(r.verdict is Verdict.FAIL for r in results) else 0


@dataclass
class _Events:
    """The sink of every driver of one EVSE: what happened, and a way to wait for the next event."""

    evse_id: int
    pilot: PilotState | None = None
    cards: list[CardPresented] = field(default_factory=list)
    faults: dict[str, str] = field(default_factory=dict)  # active: name -> detail
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: DriverEvent) -> None:
        if isinstance(event, PilotStateChanged):
            self.pilot = event.state
        elif isinstance(event, CardPresented):
            self.cards.append(event)
        elif isinstance(event, FaultRaised):
            self.faults[event.name] = event.detail
        elif isinstance(event, FaultCleared):
            self.faults.pop(event.name, None)
        self.changed.set()

    async def until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait for ``condition`` (re-checked at every event, and every 50 ms for driver properties)."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.05))
        return True

    def fault_text(self, names: Iterable[str]) -> str:
        return "; ".join(f"{n}: {self.faults[n]}" for n in sorted(set(names) & set(self.faults)))


def _where(spec: DeviceSpec) -> str:
    """The driver and where it is wired, for the result line."""
    p = spec.params
    place = next((str(p[k]) for k in ("port", "channel") if k in p), None)
    if place is None and "bus" in p:
        place = f"i2c-{p['bus']} 0x{int(p.get('address', 0x24)):02X}"
    if place is None and "pin" in p:
        place = f"GPIO{p['pin']}" + (f"/GPIO{p['feedback_pin']}" if p.get("feedback_pin") is not None else "")
    if place is None and "lock_pin" in p:
        place = f"GPIO{p['lock_pin']}/{p['unlock_pin']}/{p['feedback_pin']}"
    return f"{spec.driver} {place}" if place else spec.driver


async def run_selftest(
    settings: Settings,
    *,
    pin_factory: Any = None,
    card_timeout_s: float = 30.0,
    no_card: bool = False,
    device_timeout_s: float = 5.0,
    report: Callable[[CheckResult], None] | None = None,
    prompt: Callable[[str], None] | None = None,
) -> list[CheckResult]:
    """Run every check of every EVSE; ``report`` gets each result as it is known, ``prompt`` the
    request to hold a card. ``pin_factory`` goes to the GPIO drivers (a gpiozero MockFactory in tests).
    Raises SelftestError for ``board: sim``."""
    if settings.board == "sim":
        raise SelftestError("board: sim has no hardware to test (evse selftest is for a real board section)")
    boards = parse_board(settings.board, [e.id for e in settings.evses])
    results: list[CheckResult] = []
    for board in sorted(boards, key=lambda b: b.evse_id):
        check = _EvseCheck(board, pin_factory, card_timeout_s, no_card, device_timeout_s, report, prompt)
        results += await check.run()
    return results


class _EvseCheck:
    """The checks of one EVSE, with its drivers running."""

    def __init__(
        self,
        board: EvseBoard,
        pin_factory: Any,
        card_timeout_s: float,
        no_card: bool,
        device_timeout_s: float,
        report: Callable[[CheckResult], None] | None,
        prompt: Callable[[str], None] | None,
    ) -> None:
        self.board = board
        self.evse_id = board.evse_id
        built = build_drivers([board], pin_factory=pin_factory)
        self.drivers = built.evses[board.evse_id]
        self.iso = self.drivers.iso15118  # one of the EVSE's drivers since the limit is handed to it
        self.events = _Events(board.evse_id)
        self.card_timeout_s = card_timeout_s
        self.no_card = no_card
        self.timeout_s = device_timeout_s
        self.results: list[CheckResult] = []
        self._report = report
        self._prompt = prompt

    def _result(self, check: str, verdict: Verdict, detail: str) -> None:
        result = CheckResult(self.evse_id, check, verdict, detail)
        self.results.append(result)
        log.info("selftest evse=%d check=%s verdict=%s detail=%s", self.evse_id, check, verdict.value, detail)
        if self._report is not None:
            self._report(result)

    def _simulated(self, check: str, kind: str) -> bool:
        """A mixed board's simulated device has no hardware to prove: SKIP, never a PASS that means nothing."""
        spec = self.board.devices.get(kind)
        if spec is None or spec.driver != "sim":
            return False
        self._result(check, Verdict.SKIP, "simulated (driver: sim): no hardware to test")
        return True

    def _spec(self, kind: str) -> DeviceSpec:
        return self.board.devices[kind]

    async def run(self) -> list[CheckResult]:
        running = self.drivers.all()  # the ISO 15118 bridge among them
        tasks = [asyncio.create_task(driver.run(self.events)) for driver in running]
        try:
            await asyncio.sleep(0)  # let every run() start: claim pins, open ports
            if not self._simulated("meter", "meter"):
                await self._meter(self.drivers.meter)
            ev_absent = True if self._simulated("pilot", "pilot") else await self._pilot(self.drivers.pilot)
            if not self._simulated("contactor", "contactor"):
                await self._contactor(self.drivers.contactor, ev_absent)
            if not self._simulated("lock", "lock"):
                await self._lock(self.drivers.lock)
            if not self._simulated("card", "rfid"):
                await self._card()
            await self._iso15118()
        finally:
            for task in tasks:
                task.cancel()
            for task, outcome in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True):
                if not isinstance(outcome, asyncio.CancelledError | type(None)):
                    log.error("selftest evse=%d driver task %r ended with %r", self.evse_id, task, outcome)
        return self.results

    # ---- the checks ------------------------------------------------------------------------------------

    async def _meter(self, meter: EnergyMeter) -> None:
        where = _where(self._spec("meter"))
        deadline = time.monotonic() + self.timeout_s
        problem = "no answer"
        while time.monotonic() < deadline:
            if FaultName.METER_LOST in self.events.faults:  # the driver's own verdict, after its retries
                lost = self.events.faults[FaultName.METER_LOST]
                self._result("meter", Verdict.FAIL, f"{where}: {FaultName.METER_LOST}: {lost}")
                return
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.01)):
                    reading = await meter.read()
            except DriverError as exc:
                problem = exc.problem
                await asyncio.sleep(0.1)
                continue
            except TimeoutError:
                break
            volts = "/".join(f"{v:.1f}" for v in reading.voltage_v) or "none"
            summary = f"{where}: {volts} V, {reading.power_w:.0f} W, import register {reading.energy_import_wh:.1f} Wh"
            low, high = PLAUSIBLE_VOLTAGE_V
            if reading.voltage_v and low <= max(reading.voltage_v) <= high:
                self._result("meter", Verdict.PASS, summary)
            else:
                self._result("meter", Verdict.FAIL, f"{summary}: no phase voltage within {low:g}..{high:g} V")
            return
        self._result("meter", Verdict.FAIL, f"{where}: no reading within {self.timeout_s:g} s ({problem})")

    async def _pilot(self, pilot: Pilot) -> bool:
        """The pilot check; True when it saw CP state A (no EV), which allows the contactor check."""
        where = _where(self._spec("pilot"))
        events = self.events
        # A first handshake may fail while the MCU boots: only the whole timeout without a state fails.
        await events.until(lambda: events.pilot is not None, self.timeout_s)
        if events.pilot is None:
            problem = events.faults.get(PILOT_FAILURE, f"no pilot state within {self.timeout_s:g} s")
            self._result("pilot", Verdict.FAIL, f"{where}: {problem}")
            return False
        await asyncio.sleep(0.05)  # faults come with the first status report: let them all arrive
        state = pilot.state
        faults = events.fault_text(_PILOT_FAULTS)
        if state is not PilotState.A:
            self._result("pilot", Verdict.FAIL, f"{where}: answers, but CP state {state.value}: unplug the EV, rerun")
            return False
        if faults:
            self._result("pilot", Verdict.FAIL, f"{where}: answers, CP state A, but reports {faults}")
            return False
        self._result("pilot", Verdict.PASS, f"{where}: answers, CP state A (no EV)")
        return True

    async def _contactor(self, contactor: Contactor, ev_absent: bool) -> None:
        spec = self._spec("contactor")
        where = _where(spec)
        if not ev_absent:
            state = self.events.pilot.value if self.events.pilot is not None else "unknown"
            self._result("contactor", Verdict.SKIP, f"{where}: refused: CP state {state}, EV absence not confirmed")
            return
        standing = self.events.fault_text({"contactor_unavailable", FaultName.CONTACTOR_WELDED})
        if standing:
            self._result("contactor", Verdict.FAIL, f"{where}: before any command: {standing}")
            return
        confirmed = spec.driver != "gpio" or spec.params.get("feedback_pin") is not None
        try:
            try:
                await contactor.close()
                await asyncio.sleep(_HOLD_S)
                closed = contactor.is_closed
                if self.events.pilot is not PilotState.A:
                    raise DriverError(where, "an EV was plugged in during the test: opened at once")
            finally:
                await contactor.open()
            if not closed:
                raise DriverError(where, f"dropped out within {_HOLD_S * 1000:.0f} ms of closing")
            if contactor.is_closed:
                raise DriverError(where, "still closed after open")
        except DriverError as exc:
            self._result("contactor", Verdict.FAIL, f"{where}: {exc.problem}{self._relay_enable_hint()}")
            return
        if confirmed:
            self._result("contactor", Verdict.PASS, f"{where}: closed and opened, confirmed by the auxiliary contact")
        else:
            self._result("contactor", Verdict.SKIP, f"{where}: toggled, but no feedback_pin: nothing confirms it")

    def _relay_enable_hint(self) -> str:
        pilot = self.drivers.pilot
        if not isinstance(pilot, SafetyMcuPilot) or pilot.last_status is None:
            return ""
        if StatusFlag.RELAY_ENABLED in pilot.last_status.flags:
            return ""
        return (
            " (the safety MCU reports relay enable OFF, as it must with no EV: if the coil is wired in series"
            " with it, the contactor cannot close without an EV simulator in state C)"
        )

    async def _lock(self, lock: ConnectorLock | None) -> None:
        if lock is None:
            self._result("lock", Verdict.SKIP, "no lock configured (tethered cable)")
            return
        where = _where(self._spec("lock"))
        try:
            try:
                await lock.lock()
                if not lock.is_locked:
                    raise DriverError(where, "lock() returned but the switch does not show locked")
            finally:
                await lock.unlock()
            if lock.is_locked:
                raise DriverError(where, "unlock() returned but the switch still shows locked")
        except DriverError as exc:
            self._result("lock", Verdict.FAIL, f"{where}: {exc.problem}")
            return
        self._result("lock", Verdict.PASS, f"{where}: locked and unlocked, confirmed by the switch")

    async def _card(self) -> None:
        if self.drivers.rfid is None:
            self._result("card", Verdict.SKIP, "no reader configured")
            return
        where = _where(self._spec("rfid"))
        if self.no_card:
            self._result("card", Verdict.SKIP, f"{where}: --no-card")
            return
        events = self.events
        if not events.cards and self._prompt is not None:
            self._prompt(f"evse {self.evse_id}: hold a card to the reader ({self.card_timeout_s:g} s) ...")
        failing_since: float | None = None

        def read_or_reader_failed() -> bool:
            # A reader fault that lasts the device timeout ends the wait; a passing one does not.
            nonlocal failing_since
            if events.cards:
                return True
            if _RFID_FAILURE not in events.faults:
                failing_since = None
                return False
            failing_since = failing_since or time.monotonic()
            return time.monotonic() - failing_since > self.timeout_s

        await events.until(read_or_reader_failed, self.card_timeout_s)
        if events.cards:
            card = events.cards[0]
            self._result("card", Verdict.PASS, f"{where}: read {card.id_token} ({card.token_type})")
        elif _RFID_FAILURE in events.faults:
            self._result("card", Verdict.FAIL, f"{where}: {events.faults[_RFID_FAILURE]}")
        else:
            self._result("card", Verdict.FAIL, f"{where}: no card read within {self.card_timeout_s:g} s")

    async def _iso15118(self) -> None:
        bridge = self.iso
        if bridge is None:
            self._result("iso15118", Verdict.SKIP, "no ISO 15118 module configured")
            return
        where = _where(self._spec("iso15118"))
        timeout_s = int(self._spec("iso15118").params.get("timeout_ms", 2000)) / 1000 + 1.0
        events = self.events

        def answered() -> bool:
            return bool(getattr(bridge, "connected", False))

        await events.until(lambda: answered() or ISO15118_FAILURE in events.faults, timeout_s)
        if ISO15118_FAILURE in events.faults:
            self._result("iso15118", Verdict.FAIL, f"{where}: {events.faults[ISO15118_FAILURE]}")
        elif answered() or not hasattr(bridge, "connected"):
            self._result("iso15118", Verdict.PASS, f"{where}: the module answered the handshake")
        else:
            self._result("iso15118", Verdict.FAIL, f"{where}: no handshake within {timeout_s:g} s")


def refuse_while_daemon_runs(settings: Settings) -> None:
    """Raise SelftestError when the daemon answers on its control socket: it holds the same devices."""
    from evse import control
    from evse.errors import ControlError

    try:
        control.request(settings.socket_path, {"cmd": "status"}, timeout=2.0)
    except ControlError:
        return
    raise SelftestError(
        f"the daemon is running (it answers on {settings.socket_path}) and holds the devices: stop it first"
    )
