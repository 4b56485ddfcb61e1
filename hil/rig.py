"""An emulated charger board for one EVSE: every device at the far end of the bus the real driver opens.

``EmulatedBoard`` brings up, for one EVSE:

* a Modbus-RTU meter (``eastron_sdm630`` register map) on a real pty, served in its own thread;
* the safety MCU (CP/PP, PWM, relay enable, RCD) on a pty;
* a PN532 in HSU mode on a pty (cards are held to it with :meth:`EmulatedBoard.present_card`);
* an ISO 15118 SECC module on a python-can ``virtual`` channel;
* a gpiozero ``MockFactory`` whose pins are wired like the board: the contactor coil output moves the
  auxiliary contact input, the motor lock's pulse outputs move the bolt and its microswitch.

:meth:`EmulatedBoard.board` is the ``board:`` section naming those ports and pins with the real driver
names (``modbus``, ``safety_mcu``, ``pn532_uart``, ``can_bridge``, ``gpio``, ``gpio_motor_lock``), so
the daemon or ``evse selftest`` built from it runs the shipped drivers end to end; pass
:attr:`EmulatedBoard.pin_factory` as their ``pin_factory``.

Physics: while the main contacts are closed, the MCU's PWM offers a current and the EV is in state C
or D, the meter shows the EV drawing ``min(ev_demand_w, offered A x V x phases)`` and its import
register grows; otherwise power and currents are 0. The rig is the meter register's only writer.

Wiring choice: by default the coil drives the contactor directly (the auxiliary contact follows the
GPIO output). ``relay_enable_in_series=True`` wires it as docs/safety-mcu-protocol.md describes the
real board: Linux's output in series with the MCU's relay enable, so the contactor pulls in only when
both agree (EV in C/D, PWM offering current, MCU not safe, RCD not tripped).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, Self

from gpiozero.pins.mock import MockFactory, MockPin  # type: ignore[import-untyped]

from drivers.interfaces import CHARGING_STATES, PilotState
from drivers.meter.register_map import load_register_map, map_path
from drivers.pilot.duty import current_for_duty
from hil.emulators.iso15118 import EmulatedSecc
from hil.emulators.mcu_model import McuConfig
from hil.emulators.meter import MeterEmulator, MeterValues
from hil.emulators.pty_link import EmulatorThread, PtyLink
from hil.emulators.rfid import Pn532UartEmulator
from hil.emulators.safety_mcu import McuSnapshot, SafetyMcuEmulator

#: How often the physics thread integrates energy (and picks up any change it was not told about).
PHYSICS_TICK_S: Final = 0.05
_channels = itertools.count(1)


@dataclass(frozen=True)
class RigPins:
    """BCM numbers of the board's GPIOs; the defaults are those of config/example-board-pi.yaml."""

    contactor: int = 17
    contactor_feedback: int = 27
    lock: int = 5
    unlock: int = 6
    lock_feedback: int = 13


class _OutputPin(MockPin):  # type: ignore[misc]  # gpiozero is untyped
    """A mock output calling ``on_change(level)`` after each change, on the thread that drove it."""

    def __init__(self, factory: Any, info: Any, on_change: Callable[[bool], None] | None = None) -> None:
        super().__init__(factory, info)
        self.on_change = on_change

    def _change_state(self, value: Any) -> bool:
        changed = bool(super()._change_state(value))
        if changed and self.on_change is not None:
            self.on_change(bool(value))
        return changed


class EmulatedBoard:
    """One EVSE's hardware, emulated at the far end of each real bus; an async context manager.

    Attributes once entered: :attr:`meter` (:class:`MeterEmulator`, fault hooks ``set_fault``),
    :attr:`contactor_stuck` (the contactor's fault hook),
    :attr:`mcu` (:class:`SafetyMcuEmulator`: ``trip_rcd``, ``duty_history``, ``relay_history`` ...),
    :attr:`rfid` (:class:`Pn532UartEmulator`, the chip at ``rfid.chip``), :attr:`secc`
    (:class:`EmulatedSecc`) and :attr:`pin_factory`.
    """

    def __init__(
        self,
        *,
        evse_id: int = 1,
        meter_model: str = "eastron_sdm630",
        meter_address: int = 1,
        energy_wh: float = 1_234_500.0,
        supply_voltage_v: float = 230.0,
        phases: int = 3,
        ev_demand_w: float = 11_000.0,
        relay_enable_in_series: bool = False,
        mcu_config: McuConfig | None = None,
        pins: RigPins = RigPins(),
        with_lock: bool = True,
        with_rfid: bool = True,
        with_iso15118: bool = True,
        iso15118_transport: Literal["can", "serial"] = "can",
    ) -> None:
        if phases not in (1, 3):
            raise ValueError("phases must be 1 or 3")
        self.evse_id = evse_id
        self.meter_model = meter_model
        self.meter_address = meter_address
        self.supply_voltage_v = supply_voltage_v
        self.phases = phases
        self.ev_demand_w = ev_demand_w
        self.relay_enable_in_series = relay_enable_in_series
        self.pins = pins
        self.with_lock = with_lock
        self.with_rfid = with_rfid
        self.with_iso15118 = with_iso15118
        self.can_channel = f"hil-{os.getpid()}-{next(_channels)}"
        self.meter = MeterEmulator(
            load_register_map(map_path(meter_model)),
            address=meter_address,
            values=self._values(0.0, energy_wh),
        )
        self.mcu = SafetyMcuEmulator(mcu_config or McuConfig())
        self.rfid = Pn532UartEmulator()
        # The module on a python-can virtual bus, or on a raw pty pair for the serial bridge driver.
        self.iso15118_transport = iso15118_transport
        self.secc = (
            EmulatedSecc.on_pty(heartbeat_ms=100)
            if iso15118_transport == "serial"
            else EmulatedSecc.on_can(self.can_channel, interface="virtual", heartbeat_ms=100)
        )
        self.pin_factory: Any = MockFactory()
        #: (monotonic time, energized) for every change of the contactor coil output.
        self.coil_history: list[tuple[float, bool]] = []
        #: (monotonic time, closed, import register Wh) at every change of the auxiliary (and main) contacts.
        self.contact_history: list[tuple[float, bool, float]] = []
        #: (monotonic time, towards_locked) for every motor pulse that ended.
        self.lock_pulses: list[tuple[float, bool]] = []
        #: The MCU's state and whether the plug was locked, each time the coil was energized (the HIL's notes).
        self.coil_energized_with: list[tuple[McuSnapshot, bool]] = []
        #: Fault hook: the contacts stay where they are, whatever the coil does (stuck open, or welded).
        self.contactor_stuck = False
        self._energy_wh = energy_wh
        self._power_w = 0.0
        self._integrated_at = time.monotonic()
        self._contact_closed = False
        self._wiring = threading.Lock()  # coil and MCU callbacks come from different threads
        self._physics_stop = threading.Event()
        self._physics_wake = threading.Event()
        self._physics: threading.Thread | None = None
        self._meter_link: PtyLink | None = None
        self._meter_thread: EmulatorThread | None = None
        self._stack = contextlib.AsyncExitStack()
        self._coil_pin: Any = None
        self._contact_pin: Any = None
        self._lock_switch: Any = None
        self._lock_out: Any = None
        self._unlock_out: Any = None

    # ---- lifecycle -----------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        stack = self._stack
        self._meter_link = PtyLink.open()
        stack.callback(self._meter_link.close)
        self._meter_thread = EmulatorThread(self.meter, self._meter_link.master_fd).start()
        stack.callback(self._meter_thread.stop)
        self.mcu.start()
        stack.callback(self.mcu.close)
        if self.with_rfid:
            self.rfid.start()
            stack.callback(self.rfid.stop)
        if self.with_iso15118:
            await self.secc.start()
            stack.push_async_callback(self.secc.close)
        self._wire_pins()
        if self.relay_enable_in_series:
            self.mcu.on_change = self._mcu_changed
        self._physics = threading.Thread(target=self._run_physics, name="hil physics", daemon=True)
        self._physics.start()
        stack.callback(self._stop_physics)

    def _stop_physics(self) -> None:
        self._physics_stop.set()
        self._physics_wake.set()
        if self._physics is not None:
            self._physics.join(2)

    # ---- the board section ---------------------------------------------------------------------------

    @property
    def meter_port(self) -> str:
        if self._meter_link is None:
            raise RuntimeError("EmulatedBoard not started")
        return self._meter_link.slave_path

    def devices(self) -> dict[str, Any]:
        """This EVSE's devices, as under ``board:`` in the YAML (timings tuned for an emulated line)."""
        p = self.pins
        devices: dict[str, Any] = {
            "meter": {
                "driver": "modbus",
                "model": self.meter_model,
                "port": self.meter_port,
                "baudrate": 9600,
                "address": self.meter_address,
                "timeout_s": 0.2,
                "retries": 2,
                "poll_interval_s": 0.25,
            },
            "contactor": {"driver": "gpio", "pin": p.contactor, "feedback_pin": p.contactor_feedback},
            "pilot": {"driver": "safety_mcu", "port": self.mcu.port},
        }
        if self.with_lock:
            devices["lock"] = {
                "driver": "gpio_motor_lock",
                "lock_pin": p.lock,
                "unlock_pin": p.unlock,
                "feedback_pin": p.lock_feedback,
                "pulse_ms": 50,
                "settle_ms": 30,
            }
        if self.with_rfid:
            devices["rfid"] = {"driver": "pn532_uart", "port": self.rfid.port, "poll_interval_ms": 50}
        if self.with_iso15118 and self.iso15118_transport == "serial":
            devices["iso15118"] = {
                "driver": "serial_bridge",
                "port": self.secc.port,
                "heartbeat_ms": 100,
                "timeout_ms": 1000,
            }
        elif self.with_iso15118:
            devices["iso15118"] = {
                "driver": "can_bridge",
                "interface": "virtual",
                "channel": self.can_channel,
                "heartbeat_ms": 100,
                "timeout_ms": 1000,
            }
        return devices

    def board(self) -> dict[str, Any]:
        """The ``board:`` mapping of the settings (``evses: {id: devices}``)."""
        return {"evses": {self.evse_id: self.devices()}}

    # ---- what the EV, its driver and the installation do ---------------------------------------------

    def plug(self, cable_a: int | None = 32, state: PilotState | str = PilotState.B) -> None:
        """Plug a cable rated ``cable_a`` (PP) and an EV that puts the CP in ``state`` (B: not ready yet)."""
        self.mcu.set_cable(cable_a)
        self.mcu.set_ev_state(state)

    def set_ev_state(self, state: PilotState | str) -> None:
        """The EV's CP state: C asks for energy, B pauses."""
        self.mcu.set_ev_state(state)

    def unplug(self) -> None:
        self.mcu.set_ev_state(PilotState.A)
        self.mcu.set_cable(None)

    def present_card(self, uid: bytes | str) -> None:
        """Hold a card (4- or 7-byte ISO 14443 UID) to the PN532 until :meth:`remove_card`."""
        self.rfid.chip.present(uid)

    def remove_card(self) -> None:
        self.rfid.chip.remove()

    async def tap_card(self, uid: bytes | str, hold_s: float = 0.5) -> None:
        """Hold a card to the reader for ``hold_s``, then take it away."""
        self.present_card(uid)
        await asyncio.sleep(hold_s)
        self.remove_card()

    # ---- observation ---------------------------------------------------------------------------------

    @property
    def coil_energized(self) -> bool:
        """The contactor coil output as the GPIO drives it."""
        return bool(self._coil_pin.state) if self._coil_pin is not None else False

    @property
    def contactor_closed(self) -> bool:
        """The main (and auxiliary) contacts."""
        return self._contact_closed

    @property
    def locked(self) -> bool:
        """The bolt, as its microswitch shows it (active-low)."""
        return self._lock_switch is not None and not self._lock_switch.state

    @property
    def power_w(self) -> float:
        return self._power_w

    @property
    def energy_wh(self) -> float:
        """The meter's import register."""
        return self._energy_wh

    # ---- GPIO wiring ---------------------------------------------------------------------------------

    def _wire_pins(self) -> None:
        f, p = self.pin_factory, self.pins
        # The auxiliary contact switches to ground (the contactor driver's default): low = closed.
        self._contact_pin = f.pin(p.contactor_feedback)
        self._coil_pin = f.pin(p.contactor, pin_class=_OutputPin, on_change=self._coil_changed)
        if self.with_lock:
            # The microswitch closes to ground when the bolt is home (locked): low = locked.
            self._lock_switch = f.pin(p.lock_feedback)
            self._lock_out = f.pin(p.lock, pin_class=_OutputPin, on_change=lambda on: self._pulse(on, True))
            self._unlock_out = f.pin(p.unlock, pin_class=_OutputPin, on_change=lambda on: self._pulse(on, False))

    def _coil_changed(self, energized: bool) -> None:
        now = time.monotonic()
        self.coil_history.append((now, energized))
        if energized:
            self.coil_energized_with.append((self.mcu.snapshot(), self.locked))
        self.mcu.request_contactor(energized)  # the MCU sees Linux's output (it gates it in series)
        if not self.relay_enable_in_series:
            self._set_contact(energized)

    def _mcu_changed(self, snapshot: McuSnapshot) -> None:
        self._set_contact(snapshot.relay_closed)  # called in the MCU emulator's thread

    def _set_contact(self, closed: bool) -> None:
        with self._wiring:
            if closed == self._contact_closed or self.contactor_stuck:
                return
            self._contact_closed = closed
            self.contact_history.append((time.monotonic(), closed, self._energy_wh + self._unintegrated_wh()))
            if closed:
                self._contact_pin.drive_low()
            else:
                self._contact_pin.drive_high()
        self._physics_wake.set()

    def _pulse(self, on: bool, towards_locked: bool) -> None:
        if on:
            return
        # The bolt reaches its end stop as the pulse ends.
        self.lock_pulses.append((time.monotonic(), towards_locked))
        if towards_locked:
            self._lock_switch.drive_low()
        else:
            self._lock_switch.drive_high()

    # ---- physics -------------------------------------------------------------------------------------

    def _values(self, power_w: float, energy_wh: float) -> MeterValues:
        v = self.supply_voltage_v
        amps = power_w / (v * self.phases) if power_w > 0 else 0.0
        currents = (amps, amps, amps) if self.phases == 3 else (amps, 0.0, 0.0)
        voltages = (v, v, v) if self.phases == 3 else (v, 0.0, 0.0)
        return MeterValues(
            voltage_v=voltages, current_a=currents, power_w=power_w, energy_import_wh=energy_wh, frequency_hz=50.0
        )

    def drawn_power_w(self, snapshot: McuSnapshot) -> float:
        """What the EV draws given the MCU's state and the contacts: the rule the physics applies."""
        if not self._contact_closed or snapshot.ev_state not in CHARGING_STATES or snapshot.rcd_tripped:
            return 0.0
        try:
            offered_a = current_for_duty(snapshot.duty_permille)
        except ValueError:
            return 0.0
        if offered_a is None:
            return 0.0
        return min(self.ev_demand_w, offered_a * self.supply_voltage_v * self.phases)

    def _unintegrated_wh(self) -> float:
        """Energy since the physics thread last integrated (it runs every PHYSICS_TICK_S)."""
        return self._power_w * (time.monotonic() - self._integrated_at) / 3600.0

    def _run_physics(self) -> None:
        self._integrated_at = time.monotonic()
        while not self._physics_stop.is_set():
            self._physics_wake.wait(PHYSICS_TICK_S)
            self._physics_wake.clear()
            now = time.monotonic()
            # Energy of the interval at the power that flowed during it, then the power from now on.
            self._energy_wh += self._power_w * (now - self._integrated_at) / 3600.0
            self._integrated_at = now
            power = round(self.drawn_power_w(self.mcu.snapshot()), 1)
            if power != self._power_w or power > 0:
                self._power_w = power
                values = self._values(power, self._energy_wh)
                self.meter.set_values(
                    power_w=values.power_w, current_a=values.current_a, energy_import_wh=values.energy_import_wh
                )
