"""Control-socket commands that drive the simulated board (`evse sim ...`)."""

from __future__ import annotations

from typing import Any

from drivers.sim.board import SimBoard
from evse.control import ControlServer
from evse.errors import ControlError


def _evse(request: dict[str, Any], board: SimBoard) -> int:
    try:
        evse_id = int(request["evse"])
    except (KeyError, TypeError, ValueError):
        raise ControlError("evse: an EVSE id (integer) is required") from None
    if evse_id not in board.evse_ids:
        raise ControlError(f"unknown EVSE {evse_id} (this station has {', '.join(map(str, board.evse_ids))})")
    return evse_id


SIM_COMMANDS = ("plug", "unplug", "ev-state", "swipe", "meter", "fault", "clear", "input", "status", "iso15118")


def add_no_sim_commands(control: ControlServer) -> None:
    """On a board without simulated devices, `evse sim ...` says why in one line (not "unknown command")."""

    async def refuse(request: dict[str, Any]) -> dict[str, Any]:
        raise ControlError("this board has no simulated devices: `evse sim` drives only devices with driver: sim")

    for name in SIM_COMMANDS:
        control.add(f"sim.{name}", refuse)


def add_sim_commands(control: ControlServer, board: SimBoard) -> None:
    """Register plug, unplug, ev-state, swipe, meter, fault, clear, input and sim-status."""

    async def plug(request: dict[str, Any]) -> dict[str, Any]:
        board.plug(_evse(request, board))
        return {}

    async def unplug(request: dict[str, Any]) -> dict[str, Any]:
        board.unplug(_evse(request, board))
        return {}

    async def ev_state(request: dict[str, Any]) -> dict[str, Any]:
        board.set_ev_state(_evse(request, board), str(request.get("state")))
        return {}

    async def swipe(request: dict[str, Any]) -> dict[str, Any]:
        board.swipe(_evse(request, board), str(request.get("id_token")), str(request.get("type", "ISO14443")))
        return {}

    async def meter(request: dict[str, Any]) -> dict[str, Any]:
        board.set_power(_evse(request, board), float(request.get("power", 0)))
        return {}

    async def fault(request: dict[str, Any]) -> dict[str, Any]:
        board.raise_fault(_evse(request, board), str(request.get("name")))
        return {}

    async def clear(request: dict[str, Any]) -> dict[str, Any]:
        board.clear_fault(_evse(request, board), str(request.get("name")))
        return {}

    async def digital_input(request: dict[str, Any]) -> dict[str, Any]:
        # A named input (grid_limit, parking_bay, start_button ...): what a GPIO input driver would report.
        name, active = request.get("name"), request.get("active")
        if not isinstance(name, str) or not name or len(name) > 50:
            raise ControlError("name: an input name of 1 to 50 characters is required")
        if not isinstance(active, bool):
            raise ControlError("active: true (on, closed) or false (off, open) is required")
        board.set_input(_evse(request, board), name, active)
        return {}

    async def iso15118(request: dict[str, Any]) -> dict[str, Any]:
        # A Plug & Charge EV (issue 12): the certificate travels as text, the CLI read the file.
        if request.get("stop") is True:  # the EV ends its session (E15)
            board.iso15118_stop(_evse(request, board))
            return {}
        emaid, certificate = request.get("emaid"), request.get("certificate")
        if (emaid is not None and not isinstance(emaid, str)) or (
            certificate is not None and not isinstance(certificate, str)
        ):
            raise ControlError("emaid and certificate: text")
        if emaid is None and certificate is None:
            raise ControlError("emaid: an eMAID (or a certificate) is required")
        numbers = {}
        for key in ("energy_wh", "departure_s"):
            value = request.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ControlError(f"{key}: a whole number >= 0")
            numbers[key] = value
        board.iso15118_session(
            _evse(request, board),
            emaid,
            certificate_pem=certificate,
            energy_wh=numbers["energy_wh"],
            departure_s=numbers["departure_s"],
        )
        return {}

    async def sim_status(request: dict[str, Any]) -> dict[str, Any]:
        return {"sim": dict(board.snapshot(_evse(request, board)))}

    for name, command in {
        "sim.plug": plug,
        "sim.unplug": unplug,
        "sim.ev-state": ev_state,
        "sim.swipe": swipe,
        "sim.meter": meter,
        "sim.fault": fault,
        "sim.clear": clear,
        "sim.input": digital_input,
        "sim.status": sim_status,
        "sim.iso15118": iso15118,
    }.items():
        control.add(name, command)
