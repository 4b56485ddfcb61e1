"""`make hil`: one scripted charging session through the real drivers against the emulated board.

The dev CSMS listens on loopback, :class:`hil.rig.EmulatedBoard` brings up the meter, safety MCU,
PN532, ISO 15118 module and GPIO wiring, and the daemon runs in-process, built from a YAML file whose
``board:`` section names the rig's ptys, CAN channel and pins with the shipped driver names. Every step
prints one line (``HIL step 3: ... ok``); the first failing step prints why and the run exits 1.
Observations that are not failures of the scripted session (for instance "the connector lock never
moved") are printed as ``HIL note:`` lines.

    python -m hil.run_hil [--verbose] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from drivers.pilot.duty import DUTY_NO_PWM, current_for_duty, duty_for_current
from evse.config import load_settings
from evse.daemon import Daemon, Exit, build
from evse.devcsms.server import DevCsms
from hil.rig import EmulatedBoard

STATION = "HIL001"
PASSWORD = "hil-password-0001"
CARD = "AABBCCDD"  # one of the dev CSMS's default tokens
MAX_CURRENT_A = 16
ENERGY = "Energy.Active.Import.Register"
WAIT_S = 10.0


class StepFailed(Exception):
    """A step's expectation did not hold; the message says what was seen instead."""


@dataclass
class HilStep:
    number: int
    title: str
    ok: bool
    detail: str

    def line(self) -> str:
        if self.ok:
            return f"HIL step {self.number}: {self.title} -> {self.detail} ... ok"
        return f"HIL step {self.number}: {self.title} ... FAILED: {self.detail}"


@dataclass
class HilResult:
    """What the run saw: its steps, notes, and the CSMS's record of the session."""

    steps: list[HilStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    transaction_events: list[dict[str, Any]] = field(default_factory=list)
    csms_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)


def write_config(workdir: Path, rig: EmulatedBoard, port: int) -> Path:
    """The station's YAML, with the rig's board section; loaded through the technician's loader."""
    config = {
        "station": {"id": STATION, "vendor": "evse-stack", "model": "HIL-rig", "serial": "HIL-0001"},
        "csms": {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD},
        "evses": [{"id": rig.evse_id, "max_current_a": MAX_CURRENT_A, "connectors": [{"id": 1, "type": "sType2"}]}],
        "board": rig.board(),
        "state_dir": str(workdir / "state"),
        "device_model": {
            "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
            "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
            "SampledDataCtrlr.TxUpdatedInterval": 1,
            "TxCtrlr.TxStartPoint": ["PowerPathClosed"],
            "TxCtrlr.TxStopPoint": ["EVConnected", "Authorized"],
        },
    }
    path = workdir / "hil.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Wait for a condition of the emulated hardware (no event to wait on: it changes in other threads)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise StepFailed(f"{what} not seen within {timeout:g} s")
        await asyncio.sleep(0.01)


def energy_of(event: dict[str, Any]) -> float | None:
    """The Energy.Active.Import.Register value a TransactionEvent carries, if any."""
    for meter_value in event.get("meterValue", []):
        for sample in meter_value.get("sampledValue", []):
            if sample.get("measurand", ENERGY) == ENERGY:
                return float(sample["value"])
    return None


def power_of(event: dict[str, Any]) -> float | None:
    for meter_value in event.get("meterValue", []):
        for sample in meter_value.get("sampledValue", []):
            if sample.get("measurand") == "Power.Active.Import":
                return float(sample["value"])
    return None


class Session:
    """The scripted steps; each returns the detail of its ``ok`` line or raises StepFailed."""

    def __init__(self, csms: DevCsms, rig: EmulatedBoard, daemon: Daemon) -> None:
        self.csms = csms
        self.rig = rig
        self.daemon = daemon
        self.tx_id = ""
        self.energy_begin = 0.0
        self.energy_end: float | None = None

    async def expect(self, action: str, what: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        try:
            return await self.csms.wait_for(action, station=STATION, predicate=predicate, timeout=WAIT_S)
        except TimeoutError as exc:
            raise StepFailed(f"no {what}: {str(exc).splitlines()[0]}") from None

    async def boot(self) -> str:
        boot = await self.expect("BootNotification", "BootNotification", lambda p: True)
        await self.expect("StatusNotification", "StatusNotification Available", _status("Available"))
        # A real start-up: the EV comes after the meter answered once (polled over Modbus), not before.
        evse = self.daemon.station.evses[1]
        await until(lambda: evse.reading is not None, "the first meter reading over Modbus")
        model = boot["chargingStation"]["model"]
        return f"BootNotification ({model}) Accepted, StatusNotification Available"

    async def plug(self) -> str:
        self.rig.plug(cable_a=32)
        await self.expect("StatusNotification", "StatusNotification Occupied", _status("Occupied"))
        return "StatusNotification Occupied"

    async def card(self) -> str:
        self.rig.present_card(CARD)
        await self.expect("Authorize", f"Authorize for {CARD}", lambda p: p["idToken"]["idToken"] == CARD)
        self.rig.remove_card()
        return f"Authorize idToken {CARD} (ISO14443) accepted by the CSMS"

    async def started(self) -> str:
        event = await self.expect("TransactionEvent", "TransactionEvent Started", _event("Started"))
        if event.get("idToken", {}).get("idToken") != CARD:
            raise StepFailed(f"Started carries idToken {event.get('idToken')}, expected {CARD}")
        energy = energy_of(event)
        if energy is None:
            raise StepFailed("Started carries no Energy.Active.Import.Register (Transaction.Begin)")
        self.tx_id, self.energy_begin = event["transactionInfo"]["transactionId"], energy
        return f"TransactionEvent Started tx {self.tx_id[:8]} trigger {event['triggerReason']}, begin {energy:.1f} Wh"

    async def contactor_closed(self) -> str:
        rig = self.rig
        await until(lambda: rig.coil_energized, "the contactor coil output high")
        # The station releases a coil whose contact does not follow: no need to wait any longer then.
        await until(lambda: rig.contactor_closed or not rig.coil_energized, "the auxiliary contact closed")
        if not rig.contactor_closed:
            raise StepFailed("the coil was energized but the auxiliary contact stayed open; the station released it")
        p = self.rig.pins
        detail = f"GPIO{p.contactor} coil high, GPIO{p.contactor_feedback} auxiliary contact closed (low)"
        if self.rig.coil_energized_with and self.rig.coil_energized_with[0][1]:
            detail += f", plug locked first (GPIO{p.lock_feedback} switch low)"
        return detail

    async def duty(self) -> str:
        expected = duty_for_current(MAX_CURRENT_A)
        await until(lambda: self.rig.mcu.snapshot().duty_permille == expected, f"duty {expected / 10:g} % at the MCU")
        offered = current_for_duty(expected)
        return f"MCU generates {expected / 10:g} % = {offered:g} A offered (IEC 61851-1: {MAX_CURRENT_A} A / 0.6 A/%)"

    async def ev_charging(self) -> str:
        self.rig.set_ev_state("C")
        await self.expect(
            "TransactionEvent",
            "TransactionEvent Updated chargingState Charging",
            lambda p: _event("Updated")(p) and p["transactionInfo"].get("chargingState") == "Charging",
        )
        await until(lambda: self.rig.mcu.snapshot().relay_enabled, "the MCU's relay enable")
        return "TransactionEvent Updated chargingState Charging, MCU relay enable on"

    async def energy_grows(self) -> str:
        requests = len(self.rig.meter.requests)
        first = await self.expect("TransactionEvent", "Updated with meter values", _metered)
        second = await self.expect("TransactionEvent", "a second Updated with meter values", _metered)
        e1, e2 = energy_of(first), energy_of(second)
        assert e1 is not None and e2 is not None
        if not e2 > e1 >= self.energy_begin:
            raise StepFailed(f"energy did not grow: begin {self.energy_begin:.1f}, then {e1:.1f}, {e2:.1f} Wh")
        power = power_of(second) or 0.0
        if power <= 0:
            raise StepFailed(f"Updated meter values show {power} W while charging")
        polls = len(self.rig.meter.requests) - requests
        return f"Updated meter values {e1:.1f} -> {e2:.1f} Wh at {power:.0f} W ({polls} Modbus requests meanwhile)"

    async def stop(self) -> str:
        # Between two meter samples, as a driver's card comes at any moment (not right after a sample).
        await asyncio.sleep(0.7)
        self.rig.present_card(CARD)
        event = await self.expect("TransactionEvent", "TransactionEvent Ended", _event("Ended"))
        self.rig.remove_card()
        trigger, reason = event["triggerReason"], event["transactionInfo"].get("stoppedReason")
        if (trigger, reason) != ("StopAuthorized", "Local"):
            raise StepFailed(f"Ended with trigger {trigger} stoppedReason {reason}, expected StopAuthorized/Local")
        energy = energy_of(event)
        if energy is None or not energy > self.energy_begin:
            raise StepFailed(f"Ended energy {energy} Wh is not above the begin value {self.energy_begin:.1f} Wh")
        delivered = energy - self.energy_begin
        self.energy_end = energy
        return f"TransactionEvent Ended StopAuthorized/Local, end {energy:.1f} Wh ({delivered:.1f} Wh delivered)"

    async def contactor_open(self) -> str:
        await until(lambda: not self.rig.coil_energized, "the contactor coil output low")
        await until(lambda: not self.rig.contactor_closed, "the auxiliary contact open")
        await until(lambda: self.rig.mcu.snapshot().duty_permille == DUTY_NO_PWM, "the PWM off (100 %)")
        await until(lambda: self.rig.power_w == 0.0, "the meter's power back to 0 W")
        detail = "coil low, auxiliary contact open, PWM off (100 %), meter 0 W"
        if self.rig.lock_pulses:  # the station uses the lock: the plug must be released after the session
            await until(lambda: not self.rig.locked, "the connector lock released", timeout=3.0)
            detail += ", connector unlocked"
        return detail

    async def unplug(self) -> str:
        self.rig.unplug()
        await self.expect("StatusNotification", "StatusNotification Available", _status("Available"))
        return "StatusNotification Available"

    async def record(self) -> str:
        if self.csms.failures:
            raise StepFailed("the CSMS rejected messages: " + "; ".join(self.csms.failures))
        faults = [e for n in self.csms.received("NotifyEvent", station=STATION) for e in n["eventData"]]
        raised = [e.get("techInfo", e["component"]["name"]) for e in faults if e.get("actualValue") == "true"]
        if raised:
            raise StepFailed("faults reported during the session: " + "; ".join(raised))
        events = [
            e
            for e in self.csms.received("TransactionEvent", station=STATION)
            if e["transactionInfo"]["transactionId"] == self.tx_id
        ]
        seq = [e["seqNo"] for e in events]
        if seq != list(range(len(seq))):
            raise StepFailed(f"seqNo of the transaction not 0..n in order: {seq}")
        return f"{len(events)} TransactionEvents (seqNo 0..{len(seq) - 1}), all schema-valid, no faults reported"


def _status(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda p: bool(p["connectorStatus"] == status)


def _event(event_type: str) -> Callable[[dict[str, Any]], bool]:
    return lambda p: bool(p["eventType"] == event_type)


def _metered(payload: dict[str, Any]) -> bool:
    return payload["eventType"] == "Updated" and energy_of(payload) is not None


def _notes(rig: EmulatedBoard, session: Session) -> list[str]:
    """What the emulated hardware saw that a correct station would have done differently."""
    notes: list[str] = []
    opened = [wh for _t, closed, wh in rig.contact_history if not closed]
    if session.energy_end is not None and opened and opened[-1] - session.energy_end > 0.5:
        notes.append(
            f"the Ended meter value ({session.energy_end:.1f} Wh) is {opened[-1] - session.energy_end:.1f} Wh below "
            f"the meter's register when the contactor opened ({opened[-1]:.1f} Wh): Transaction.End is the last "
            "periodic sample, not a reading taken once the power path was open"
        )
    if rig.with_lock and not rig.lock_pulses:
        notes.append("the connector lock never moved during the session (a lock is configured; nothing called lock())")
    for snapshot, locked in rig.coil_energized_with:
        if snapshot.ev_state.value not in ("C", "D"):
            notes.append(
                f"the contactor coil was energized with the CP in state {snapshot.ev_state.value} and the PWM at "
                f"{snapshot.duty_permille / 10:g} % (IEC 61851-1 switches the supply on in state C/D, after the "
                "PWM offers current; on a board with the MCU's relay enable in series the contactor could not close)"
            )
        if rig.with_lock and not locked:
            notes.append("the contactor coil was energized while the connector lock was not locked")
    if rig.with_lock and rig.locked:
        notes.append("the connector lock was still locked at the end of the run")
    return list(dict.fromkeys(notes))


async def run_session(
    workdir: Path,
    *,
    out: Callable[[str], None] = print,
    relay_enable_in_series: bool = False,
    prepare: Callable[[EmulatedBoard], None] | None = None,
) -> HilResult:
    """Run the scripted session; prints each step through ``out`` and returns what happened.

    ``prepare`` gets the rig before the daemon starts (to set a fault hook, say).
    """
    result = HilResult()
    started = time.monotonic()
    errors = _ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        await _run(workdir, result, out, relay_enable_in_series, prepare)
    finally:
        logging.getLogger().removeHandler(errors)
    result.notes += [f"the station logged an error: {message}" for message in errors.messages]
    for note in result.notes:
        out(f"HIL note: {note}")
    result.seconds = time.monotonic() - started
    return result


class _ErrorLog(logging.Handler):
    """Collects the distinct ERROR lines of the run (the daemon keeps running through them)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


async def _run(
    workdir: Path,
    result: HilResult,
    out: Callable[[str], None],
    relay_enable_in_series: bool,
    prepare: Callable[[EmulatedBoard], None] | None,
) -> None:
    async with (
        DevCsms(basic_auth={STATION: PASSWORD}) as csms,
        EmulatedBoard(relay_enable_in_series=relay_enable_in_series) as rig,
    ):
        if prepare is not None:
            prepare(rig)
        settings = load_settings(write_config(workdir, rig, csms.port))
        daemon = build(settings, pin_factory=rig.pin_factory)
        task: asyncio.Task[Exit] = asyncio.create_task(daemon.run())
        session = Session(csms, rig, daemon)
        steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
            ("station boots against the dev CSMS", session.boot),
            ("EV plugged (CP A->B, 32 A cable)", session.plug),
            (f"card {CARD} held to the PN532", session.card),
            ("transaction starts", session.started),
            ("PWM offers the EVSE's maximum current", session.duty),
            ("EV asks for energy (CP B->C)", session.ev_charging),
            ("contactor closes", session.contactor_closed),
            ("energy grows, read over Modbus", session.energy_grows),
            (f"card {CARD} again", session.stop),
            ("contactor opens", session.contactor_open),
            ("EV unplugged (CP C->A)", session.unplug),
            ("CSMS record", session.record),
        ]
        try:
            for number, (title, run) in enumerate(steps, start=1):
                if task.done():
                    step = HilStep(number, title, False, f"the daemon stopped: {_ended(task)}")
                else:
                    try:
                        step = HilStep(number, title, True, await run())
                    except StepFailed as exc:
                        step = HilStep(number, title, False, str(exc))
                result.steps.append(step)
                out(step.line())
                if not step.ok:
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            result.notes = _notes(rig, session)
            result.transaction_events = csms.received("TransactionEvent", station=STATION)
            result.csms_failures = list(csms.failures)


def _ended(task: asyncio.Task[Exit]) -> str:
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return repr(exc) if exc is not None else str(task.result())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hil.run_hil", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="the daemon's and drivers' INFO log on stderr")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (config, database)")
    parser.add_argument(
        "--relay-enable-in-series",
        action="store_true",
        help="wire the contactor coil through the MCU's relay enable (docs/safety-mcu-protocol.md)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="evse-hil-"))
    try:
        result = asyncio.run(run_session(workdir, relay_enable_in_series=args.relay_enable_in_series))
    finally:
        if args.keep:
            print(f"HIL working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if result.ok:
        print(f"HIL passed: {len(result.steps)} steps in {result.seconds:.1f} s")
        return 0
    failed = next(s for s in result.steps if not s.ok)
    print(f"HIL FAILED at step {failed.number}: {failed.title}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
