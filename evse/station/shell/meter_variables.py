"""The meter's last reading as live device-model values: EVSE.Power, EVSE.ACCurrent, EVSE.ACVoltage.

Read when asked (GetVariables, a report, a monitor's evaluation), never stored: they change every second.
An EVSE whose meter has not been read yet reads "" (unknown), which no threshold mistakes for 0.
"""

from __future__ import annotations

from collections.abc import Callable

from drivers.interfaces import MeterReading
from evse.devicemodel.model import DeviceModel
from evse.station.shell.runtime import EvseRuntime


def _wire(number: float) -> str:
    """A decimal without float noise or a trailing ".0": 7360.0 -> "7360", 31.99999 -> "32"."""
    text = f"{round(number, 3):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _reader(runtime: EvseRuntime, pick: Callable[[MeterReading], float]) -> Callable[[], str]:
    def read() -> str:
        reading = runtime.reading
        return _wire(pick(reading)) if reading is not None else ""

    return read


def register_meter_variables(model: DeviceModel, evses: dict[int, EvseRuntime]) -> None:
    """Power is the active power, ACCurrent the highest phase current, ACVoltage the lowest phase
    voltage: the values an overload or an undervoltage monitor is about."""
    for evse_id, runtime in evses.items():
        model.register_live_value("EVSE", "Power", _reader(runtime, lambda r: r.power_w), evse_id=evse_id)
        model.register_live_value(
            "EVSE", "ACCurrent", _reader(runtime, lambda r: max(r.current_a, default=0.0)), evse_id=evse_id
        )
        model.register_live_value(
            "EVSE", "ACVoltage", _reader(runtime, lambda r: min(r.voltage_v, default=0.0)), evse_id=evse_id
        )
