"""The simulated board: every device of every EVSE, and the hooks a technician or a test uses.

The hooks (``plug``, ``swipe``, ``raise_fault`` ...) act at the far end of the wire, like
gpiozero's mock pins: they change what the simulated hardware does and the simulated drivers
report it, exactly as real drivers would. The control socket (``evse sim ...``) calls them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypedDict

from drivers.errors import DriverError
from drivers.interfaces import (
    ID_TOKEN_TYPES,
    ISO14443,
    CableCapacityChanged,
    CardPresented,
    EventSink,
    EvseDrivers,
    FaultCleared,
    FaultName,
    FaultRaised,
    InputChanged,
    Iso15118StopReason,
    PilotState,
    PilotStateChanged,
    iso14443_id_token,
)
from drivers.sim.contactor import SimContactor
from drivers.sim.display import SimDisplay
from drivers.sim.iso15118 import SimIso15118Bridge
from drivers.sim.lock import SimLock
from drivers.sim.meter import SimMeter
from drivers.sim.pilot import SimPilot
from drivers.sim.rfid import SimRfidReader
from drivers.sim.state import SimEventBus, SimEvseState

log = logging.getLogger(__name__)

_BOARD = "sim board"
#: Every fault the simulated board can raise, with the detail its FaultRaised carries by default.
FAULT_DETAILS: Final[dict[str, str]] = {
    FaultName.METER_LOST: "meter does not answer",
    FaultName.CONTACTOR_WELDED: "contactor welded: it stays closed",
    FaultName.CONTACTOR_STUCK_OPEN: "contactor stuck open: it does not close",
    FaultName.LOCK_FAILURE: "connector lock does not engage",
    FaultName.UNLOCK_FAILURE: "connector lock does not release",
    FaultName.RCD_TRIP: "residual current device tripped",
    FaultName.EMERGENCY_STOP: "emergency stop pressed",
    FaultName.OVER_TEMPERATURE: "temperature above limit",
}
KNOWN_FAULTS: Final = tuple(FAULT_DETAILS)
#: The device whose misbehaviour a fault simulates; the others (emergency stop, temperature) belong to no
#: device of the board and can always be raised.
FAULT_DEVICES: Final[dict[str, str]] = {
    FaultName.METER_LOST: "meter",
    FaultName.CONTACTOR_WELDED: "contactor",
    FaultName.CONTACTOR_STUCK_OPEN: "contactor",
    FaultName.LOCK_FAILURE: "lock",
    FaultName.UNLOCK_FAILURE: "lock",
    FaultName.RCD_TRIP: "pilot",  # the safety MCU behind the pilot watches the RCD
}
SIM_DRIVER: Final = "sim"
_ID_TOKEN_MAX_LENGTH: Final = 36  # IdTokenType.idToken in OCPP 2.0.1


class SimSnapshot(TypedDict):
    """What ``evse sim status`` shows for one simulated EVSE (JSON-serialisable)."""

    evse_id: int
    ev_state: str
    cable_max_current_a: float | None
    contactor_closed: bool
    locked: bool
    offered_current_a: float | None
    ev_demand_w: float
    power_w: float
    energy_import_wh: float
    faults: list[str]
    display: str | None
    real_devices: dict[str, str]  # kind -> driver of the devices that are real on a mixed board
    iso15118: dict[str, object] | None  # the simulated EV's ISO 15118 session: eMAID, authorizations


@dataclass(frozen=True, slots=True)
class _SimEvse:
    state: SimEvseState
    meter: SimMeter
    contactor: SimContactor
    lock: SimLock
    pilot: SimPilot
    rfid: SimRfidReader
    display: SimDisplay
    iso15118: SimIso15118Bridge


def _load_registers(path: Path | None) -> dict[int, float]:
    if path is None or not path.exists():
        return {}
    try:
        return {int(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (ValueError, OSError) as exc:
        raise DriverError(_BOARD, f"unreadable meter register file {path}: {exc}") from None


class SimBoard:
    """A simulated board with one meter, contactor, lock, pilot, RFID reader and display per EVSE.

    ``devices`` describes a board that mixes real and simulated drivers (a technician bringing up one
    device at a time): per EVSE, each device kind present and its driver name. The sim devices built from
    that board section share this board's state (see :func:`drivers.sim.state.evse_state`); a hook aimed
    at a device that is real or absent raises a one-line DriverError instead of acting on a device the
    station does not drive. ``None`` (``board: sim``) means every device is simulated.
    ``clock`` is the monotonic clock the meter integrates over (default ``time.monotonic``; tests
    pass a fake, the daemon its ``Clock.monotonic``). ``phases`` is the number of phases wired to
    every EVSE (1 or 3). All devices share one event wire: events reach every sink attached with
    :meth:`attach` or through any of the drivers' ``run(sink)``, synchronously, on the caller's
    thread (the event loop's, for the control socket).
    """

    def __init__(
        self,
        evse_ids: Sequence[int],
        *,
        clock: Callable[[], float] | None = None,
        phases: int = 3,
        register_file: Path | None = None,
        devices: Mapping[int, Mapping[str, str]] | None = None,
    ) -> None:
        if not evse_ids:
            raise DriverError(_BOARD, "needs at least one EVSE")
        if len(set(evse_ids)) != len(evse_ids) or any(i < 1 for i in evse_ids):
            raise DriverError(_BOARD, f"EVSE ids must be distinct and >= 1, got {list(evse_ids)}")
        if phases not in (1, 3):
            raise DriverError(_BOARD, f"phases must be 1 or 3, got {phases}")
        self._bus = SimEventBus()
        self._states: dict[int, SimEvseState] = {}
        self._evses: dict[int, _SimEvse] = {}
        self._register_file = register_file
        self._devices = None if devices is None else {i: dict(devices.get(i, {})) for i in evse_ids}
        registers = _load_registers(register_file)
        for evse_id in evse_ids:
            self._states[evse_id] = state = SimEvseState(
                evse_id,
                self._bus,
                clock or time.monotonic,
                phases=phases,
                initial_energy_wh=registers.get(evse_id, 0.0),
            )
            if register_file is not None:
                state.persist = self.save_registers
        for evse_id, state in self._states.items():
            # The same constructor convention as a sim device built from a board section.
            self._evses[evse_id] = _SimEvse(
                state=state,
                meter=SimMeter(evse_id=evse_id, sim_board=self),
                contactor=SimContactor(evse_id=evse_id, sim_board=self),
                lock=SimLock(evse_id=evse_id, sim_board=self),
                pilot=SimPilot(evse_id=evse_id, sim_board=self),
                rfid=SimRfidReader(evse_id=evse_id, sim_board=self),
                display=SimDisplay(evse_id=evse_id, sim_board=self),
                iso15118=SimIso15118Bridge(evse_id=evse_id, sim_board=self),
            )

    def save_registers(self) -> None:
        """Keep the energy registers in `register_file`, as a real meter keeps its register in its own
        memory: after a restart of the daemon the simulated meters continue, never count from 0 again."""
        if self._register_file is None:
            return
        data = {str(i): e.state.energy_import_wh for i, e in self._evses.items()}
        tmp = self._register_file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self._register_file)
        except OSError as exc:
            # A real meter's register is in the meter, not on our disk: a full or read-only state_dir
            # (which the station reports as its storage fault) must not make the simulated meter fail.
            log.warning("simulated meter registers not saved to %s: %s", self._register_file, exc)

    @property
    def evse_ids(self) -> tuple[int, ...]:
        return tuple(self._evses)

    def evse_state(self, evse_id: int) -> SimEvseState:
        """The simulated hardware of one EVSE, shared by every sim device built for it."""
        try:
            return self._states[evse_id]
        except KeyError:
            known = ", ".join(str(i) for i in self._states)
            raise DriverError(_BOARD, f"unknown EVSE {evse_id!r} (known: {known})") from None

    def _evse(self, evse_id: int) -> _SimEvse:
        self.evse_state(evse_id)  # the one-line error for an unknown EVSE
        return self._evses[evse_id]

    def real_devices(self, evse_id: int) -> dict[str, str]:
        """Kind -> driver of the devices of this EVSE that are not simulated (empty for ``board: sim``)."""
        self.evse_state(evse_id)
        if self._devices is None:
            return {}
        return {kind: driver for kind, driver in self._devices[evse_id].items() if driver != SIM_DRIVER}

    def _simulated(self, evse_id: int, kind: str, command: str) -> SimEvseState:
        """The EVSE's state, once sure its ``kind`` device is simulated: a hook never pretends to act on a
        real device (the station would never see the change) nor on one the board does not have."""
        state = self.evse_state(evse_id)
        if self._devices is None:
            return state
        driver = self._devices[evse_id].get(kind)
        if driver is None:
            raise DriverError(_BOARD, f"`sim {command}`: EVSE {evse_id} has no {kind} on this board")
        if driver != SIM_DRIVER:
            raise DriverError(
                _BOARD, f"`sim {command}`: the {kind} of EVSE {evse_id} is real on this board (driver {driver})"
            )
        return state

    # -- the event wire --

    def attach(self, sink: EventSink) -> None:
        """Deliver every event of the board to ``sink`` from now on (once, however often attached)."""
        self._bus.attach(sink)

    def detach(self, sink: EventSink) -> None:
        """Undo one :meth:`attach`."""
        self._bus.detach(sink)

    # -- drivers --

    def drivers(self, evse_id: int) -> EvseDrivers:
        """The drivers of one EVSE, typed by interface, as the daemon uses them on ``board: sim``."""
        e = self._evse(evse_id)
        return EvseDrivers(
            evse_id=evse_id,
            meter=e.meter,
            contactor=e.contactor,
            pilot=e.pilot,
            lock=e.lock,
            rfid=e.rfid,
            display=e.display,
            iso15118=e.iso15118,
        )

    def meter(self, evse_id: int) -> SimMeter:
        return self._evse(evse_id).meter

    def contactor(self, evse_id: int) -> SimContactor:
        return self._evse(evse_id).contactor

    def lock(self, evse_id: int) -> SimLock:
        return self._evse(evse_id).lock

    def pilot(self, evse_id: int) -> SimPilot:
        return self._evse(evse_id).pilot

    def rfid(self, evse_id: int) -> SimRfidReader:
        return self._evse(evse_id).rfid

    # -- technician / test hooks --

    def plug(self, evse_id: int, *, cable_max_current_a: float | None = None) -> None:
        """Plug an EV in (pilot A -> B). No-op if an EV is already plugged.

        ``cable_max_current_a`` simulates the PP resistor of a socket-outlet cable.
        """
        state = self._simulated(evse_id, "pilot", "plug")
        if state.ev_state is not PilotState.A:
            return
        if cable_max_current_a is not None:
            if not (math.isfinite(cable_max_current_a) and cable_max_current_a > 0):
                raise DriverError(_BOARD, f"cable rating must be > 0 A, got {cable_max_current_a}")
            state.cable_capacity_a = cable_max_current_a
            state.emit(CableCapacityChanged(evse_id, cable_max_current_a))
        log.info("evse=%s sim=plug", evse_id)
        self._change_ev_state(state, PilotState.B)

    def unplug(self, evse_id: int) -> None:
        """Unplug the EV (pilot -> A). No-op if nothing is plugged."""
        state = self._simulated(evse_id, "pilot", "unplug")
        log.info("evse=%s sim=unplug", evse_id)
        self._evse(evse_id).iso15118.end(Iso15118StopReason.EV_DISCONNECTED)
        self._change_ev_state(state, PilotState.A)

    def set_ev_state(self, evse_id: int, ev_state: PilotState | str) -> None:
        """Put the EV in any pilot state (C: wants to charge, B: paused, E/F: pilot faults)."""
        state = self._simulated(evse_id, "pilot", "ev-state")
        try:
            target = PilotState(ev_state)
        except ValueError:
            valid = ", ".join(PilotState)
            raise DriverError(_BOARD, f"unknown pilot state {ev_state!r} (one of {valid})") from None
        log.info("evse=%s sim=set_ev_state state=%s", evse_id, target)
        self._change_ev_state(state, target)

    def _change_ev_state(self, state: SimEvseState, target: PilotState) -> None:
        if state.ev_state is target:
            return
        state.set_ev_state(target)
        state.emit(PilotStateChanged(state.evse_id, target))
        if target is PilotState.A and state.cable_capacity_a is not None:
            state.cable_capacity_a = None
            state.emit(CableCapacityChanged(state.evse_id, None))

    def iso15118_session(
        self,
        evse_id: int,
        emaid: str | None,
        *,
        certificate_pem: str | None = None,
        energy_wh: int | None = None,
        departure_s: int | None = None,
        evcc_id: str = "02005E5A1B2C",
    ) -> None:
        """A Plug & Charge EV: plugged in (if it was not), it opens an ISO 15118 session and offers its contract
        (the eMAID, the OCSP data of its chain: from ``certificate_pem`` or made up), and its charging needs
        when ``energy_wh`` or ``departure_s`` is given. It charges once the station authorizes the contract."""
        state = self._simulated(evse_id, "pilot", "iso15118")
        if (energy_wh is not None and energy_wh < 0) or (departure_s is not None and departure_s < 0):
            raise DriverError(_BOARD, "energy and departure time must be >= 0")
        self.plug(evse_id)
        log.info("evse=%s sim=iso15118_session", evse_id)  # never the eMAID itself
        self._evse(evse_id).iso15118.begin(
            emaid,
            certificate_pem=certificate_pem,
            energy_wh=energy_wh,
            departure_s=departure_s,
            phases=state.phases,
            evcc_id=evcc_id,
        )

    def iso15118_stop(self, evse_id: int) -> None:
        """The Plug & Charge EV ends its ISO 15118 session (SessionStop Terminate, E15): it stops drawing
        (pilot C -> B) and its module reports the end; the cable stays in."""
        state = self._simulated(evse_id, "pilot", "iso15118")
        bridge = self._evse(evse_id).iso15118
        if bridge.session is None:
            raise DriverError(_BOARD, f"`sim iso15118 --stop`: no ISO 15118 session on EVSE {evse_id}")
        log.info("evse=%s sim=iso15118_stop", evse_id)
        if state.ev_state is PilotState.C:
            self._change_ev_state(state, PilotState.B)
        bridge.end(Iso15118StopReason.STOPPED_BY_EV)

    def iso15118(self, evse_id: int) -> SimIso15118Bridge:
        return self._evse(evse_id).iso15118

    def swipe(self, evse_id: int, id_token: str, token_type: str = ISO14443) -> None:
        """Present a token at the EVSE's reader. ISO14443 tokens are 8 or 14 hex digits, any case."""
        state = self._simulated(evse_id, "rfid", "swipe")
        if token_type not in ID_TOKEN_TYPES:
            valid = ", ".join(sorted(ID_TOKEN_TYPES))
            raise DriverError(_BOARD, f"unknown token type {token_type!r} (one of {valid})")
        if token_type == ISO14443:
            try:
                id_token = iso14443_id_token(id_token)
            except ValueError as exc:
                raise DriverError(_BOARD, str(exc)) from None
        elif not 1 <= len(id_token) <= _ID_TOKEN_MAX_LENGTH:
            raise DriverError(_BOARD, f"id token must be 1 to {_ID_TOKEN_MAX_LENGTH} characters")
        log.info("evse=%s sim=swipe type=%s", evse_id, token_type)  # never the token itself
        state.emit(CardPresented(evse_id, id_token, token_type))

    def set_input(self, evse_id: int, name: str, active: bool) -> None:
        """Change a digital input of the EVSE (``parking_bay`` sensor, ``start_button`` ...).

        The sim board has no pins of its own: this reports what a digital input driver would.
        """
        state = self._evse(evse_id).state
        log.info("evse=%s sim=set_input input=%s active=%s", evse_id, name, active)
        state.emit(InputChanged(evse_id, name, active))

    def set_power(self, evse_id: int, watts: float) -> None:
        """What the EV draws when it is allowed to (capped by the offered current)."""
        state = self._simulated(evse_id, "meter", "meter")
        if not (math.isfinite(watts) and watts >= 0):
            raise DriverError(_BOARD, f"EV power must be >= 0 W, got {watts}")
        log.info("evse=%s sim=set_power watts=%s", evse_id, watts)
        state.set_ev_demand(float(watts))

    def _fault_target(self, evse_id: int, name: str, command: str) -> SimEvseState:
        if name not in FAULT_DETAILS:
            raise DriverError(_BOARD, f"unknown fault {name!r} (one of {', '.join(KNOWN_FAULTS)})")
        kind = FAULT_DEVICES.get(name)
        return self.evse_state(evse_id) if kind is None else self._simulated(evse_id, kind, f"{command} {name}")

    def raise_fault(self, evse_id: int, name: str, detail: str | None = None) -> None:
        """Make a device misbehave (see the device classes) and report FaultRaised. No-op if raised."""
        state = self._fault_target(evse_id, name, "fault")
        if name in state.faults:
            return
        log.info("evse=%s sim=raise_fault fault=%s", evse_id, name)
        state.faults.add(name)
        state.emit(FaultRaised(evse_id, name, detail or FAULT_DETAILS[name]))

    def clear_fault(self, evse_id: int, name: str) -> None:
        """Undo :meth:`raise_fault` and report FaultCleared. No-op if not raised."""
        state = self._fault_target(evse_id, name, "clear")
        if name not in state.faults:
            return
        log.info("evse=%s sim=clear_fault fault=%s", evse_id, name)
        state.faults.discard(name)
        state.emit(FaultCleared(evse_id, name))

    def snapshot(self, evse_id: int) -> SimSnapshot:
        """The simulated truth of one EVSE, as plain JSON-able values."""
        state = self.evse_state(evse_id)
        return SimSnapshot(
            evse_id=evse_id,
            ev_state=str(state.ev_state),
            cable_max_current_a=state.cable_capacity_a,
            contactor_closed=state.contactor_closed,
            locked=state.locked,
            offered_current_a=state.offered_current_a,
            ev_demand_w=state.ev_demand_w,
            power_w=state.power_w(),
            energy_import_wh=state.energy_import_wh,
            faults=sorted(state.faults),
            display=state.display_text,
            real_devices=self.real_devices(evse_id),
            iso15118=self._iso15118_snapshot(evse_id),
        )

    def _iso15118_snapshot(self, evse_id: int) -> dict[str, object] | None:
        session = self._evse(evse_id).iso15118.session
        if session is None:
            return None
        return {"emaid": session.emaid, "authorizations": list(session.authorizations)}
