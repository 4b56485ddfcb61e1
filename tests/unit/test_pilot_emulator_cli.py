"""The HIL command language of the safety-MCU emulator, applied to an emulator that is not started."""

from __future__ import annotations

import pytest

from drivers.interfaces import PilotState
from drivers.pilot.messages import McuFault
from hil.emulators.safety_mcu import SafetyMcuEmulator
from hil.emulators.safety_mcu_cli import apply_command


@pytest.fixture
def emu() -> SafetyMcuEmulator:
    return SafetyMcuEmulator()  # never started: commands only change the model, no pty


def test_ev_cable_and_rcd_commands(emu: SafetyMcuEmulator) -> None:
    assert apply_command(emu, "cp c") == "ok cp C"
    assert apply_command(emu, "pp 32") == "ok pp 32"
    assert apply_command(emu, "rcd trip") == "ok rcd trip"
    snap = emu.snapshot()
    assert (snap.ev_state, snap.pp_current_a, snap.rcd_tripped) == (PilotState.C, 32, True)
    apply_command(emu, "pp none")
    apply_command(emu, "rcd reset")
    assert (emu.snapshot().pp_current_a, emu.snapshot().rcd_tripped) == (None, False)


def test_fault_temperature_and_version_commands(emu: SafetyMcuEmulator) -> None:
    assert apply_command(emu, "fault welded on") == "ok fault welded on"
    assert apply_command(emu, "temp 71.5") == "ok temp 71.5"
    assert apply_command(emu, "version 2.1") == "ok version 2.1"
    snap = emu.snapshot()
    assert snap.faults == McuFault.RELAY_WELDED
    assert snap.temperature_c == 71.5
    assert snap.protocol == (2, 1)


def test_line_fault_switches(emu: SafetyMcuEmulator) -> None:
    apply_command(emu, "silent on")
    apply_command(emu, "deaf on")
    apply_command(emu, "babble on")
    assert (emu.silent, emu.deaf, emu.babble) == (True, True, True)
    apply_command(emu, "silent off")
    assert not emu.silent


def test_status_describes_the_mcu(emu: SafetyMcuEmulator) -> None:
    line = apply_command(emu, "status")
    assert line.startswith("status cp=F ")
    assert "safe=yes" in line and "relay=open" in line


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("cp F", "error cp: state F is driven by the EVSE"),
        ("cp X", "error cp:"),
        ("pp lots", "error pp:"),
        ("rcd sideways", "error rcd:"),
        ("silent maybe", "error silent: expected on|off"),
        ("nack sorry", "error nack:"),
        ("warp 9", "error unknown command 'warp'"),
        ("cp", "error cp:"),
    ],
)
def test_bad_commands_answer_an_error_line(emu: SafetyMcuEmulator, line: str, error: str) -> None:
    assert apply_command(emu, line).startswith(error)


def test_blank_line_is_ignored(emu: SafetyMcuEmulator) -> None:
    assert apply_command(emu, "   ") == ""
