"""Command-line front of the safety-MCU emulator, for HIL rigs: ``python -m hil.emulators.safety_mcu``.

It creates a pty, links its slave end at ``--link`` (a board config then names that path as the
pilot's ``port``) and reads one command per line from stdin and, with ``--control``, from a FIFO a
HIL script writes to. It answers each command with ``ok ...`` or ``error ...`` and prints a
``state ...`` line whenever the MCU's outputs (duty, relay, safe state) change, so a script can wait
for them. ``help`` lists the commands.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final, TextIO

from drivers.pilot.messages import McuFault, MsgType, NackCode
from hil.emulators.mcu_model import McuConfig
from hil.emulators.safety_mcu import McuSnapshot, SafetyMcuEmulator

_FAULTS: Final = {
    "diode": McuFault.DIODE_MISSING,
    "welded": McuFault.RELAY_WELDED,
    "overtemp": McuFault.OVER_TEMPERATURE,
    "selftest": McuFault.SELF_TEST_FAILED,
}
HELP: Final = """\
cp A|B|C|D|E              the EV's CP state (F is driven by the MCU itself)
pp <amps>|none            cable rating from the PP resistor
rcd trip|reset            residual current device
contactor on|off          Linux's contactor output, gated by the MCU's relay enable
fault diode|welded|overtemp|selftest on|off
temp <celsius>            MCU temperature input
silent on|off             cut the MCU's TX line
deaf on|off               cut the MCU's RX line (its watchdog then opens the relay)
babble on|off             send every frame with a broken CRC
corrupt [n]               break the CRC of the next n frames
garbage <hex>             put raw bytes on the line
nack <code> [n]           refuse the next n SET_PWM (bad_length|bad_value|unknown_type|not_ready)
ignore <n> [type]         answer none of the next n requests (hello|heartbeat|set_pwm)
version <major>.<minor>   protocol version answered to the next HELLO
status                    print the MCU's state
quit"""


def _on_off(word: str) -> bool:
    if word not in ("on", "off"):
        raise ValueError(f"expected on|off, got {word!r}")
    return word == "on"


def describe(s: McuSnapshot) -> str:
    """One ``key=value`` line of what the MCU measures and drives."""
    return (
        f"cp={s.cp_state} ev={s.ev_state} duty={s.duty_permille} pp={s.pp_current_a or 'none'} "
        f"rcd={'tripped' if s.rcd_tripped else 'ok'} relay={'closed' if s.relay_closed else 'open'} "
        f"enable={'on' if s.relay_enabled else 'off'} safe={'yes' if s.safe else 'no'} "
        f"faults=0x{int(s.faults):04X} temp={s.temperature_c:g} protocol={s.protocol[0]}.{s.protocol[1]}"
    )


def apply_command(emu: SafetyMcuEmulator, line: str) -> str:
    """Carry out one command line; the answer line. ``quit`` is the caller's business."""
    words = line.split()
    if not words:
        return ""
    cmd, args = words[0].lower(), words[1:]
    try:
        handler = _COMMANDS.get(cmd)
        if handler is None:
            return f"error unknown command {cmd!r} (try help)"
        return handler(emu, args)
    except (ValueError, IndexError, KeyError) as exc:
        return f"error {cmd}: {exc}"


def _cp(emu: SafetyMcuEmulator, args: list[str]) -> str:
    emu.set_ev_state(args[0].upper())
    return f"ok cp {args[0].upper()}"


def _pp(emu: SafetyMcuEmulator, args: list[str]) -> str:
    emu.set_cable(None if args[0] == "none" else int(args[0]))
    return f"ok pp {args[0]}"


def _rcd(emu: SafetyMcuEmulator, args: list[str]) -> str:
    {"trip": emu.trip_rcd, "reset": emu.reset_rcd}[args[0]]()
    return f"ok rcd {args[0]}"


def _switch(
    setter: Callable[[SafetyMcuEmulator, bool], None], name: str
) -> Callable[[SafetyMcuEmulator, list[str]], str]:
    def handler(emu: SafetyMcuEmulator, args: list[str]) -> str:
        setter(emu, _on_off(args[0]))
        return f"ok {name} {args[0]}"

    return handler


def _fault(emu: SafetyMcuEmulator, args: list[str]) -> str:
    emu.set_fault(_FAULTS[args[0]], _on_off(args[1]))
    return f"ok fault {args[0]} {args[1]}"


def _temp(emu: SafetyMcuEmulator, args: list[str]) -> str:
    emu.set_temperature(float(args[0]))
    return f"ok temp {args[0]}"


def _corrupt(emu: SafetyMcuEmulator, args: list[str]) -> str:
    count = int(args[0]) if args else 1
    emu.corrupt_next(count)
    return f"ok corrupt {count}"


def _garbage(emu: SafetyMcuEmulator, args: list[str]) -> str:
    emu.inject(bytes.fromhex("".join(args)))
    return "ok garbage"


def _nack(emu: SafetyMcuEmulator, args: list[str]) -> str:
    count = int(args[1]) if len(args) > 1 else 1
    emu.nack_next(NackCode[args[0].upper()], count)
    return f"ok nack {args[0]} {count}"


def _ignore(emu: SafetyMcuEmulator, args: list[str]) -> str:
    msg_type = MsgType[args[1].upper()] if len(args) > 1 else None
    emu.ignore_requests(int(args[0]), msg_type)
    return f"ok ignore {args[0]} {msg_type.name if msg_type else 'any'}"


def _version(emu: SafetyMcuEmulator, args: list[str]) -> str:
    major, minor = (int(part) for part in args[0].split("."))
    emu.set_protocol((major, minor))
    return f"ok version {major}.{minor}"


def _status(emu: SafetyMcuEmulator, args: list[str]) -> str:
    return "status " + describe(emu.snapshot())


def _set_silent(emu: SafetyMcuEmulator, on: bool) -> None:
    emu.silent = on


def _set_deaf(emu: SafetyMcuEmulator, on: bool) -> None:
    emu.deaf = on


def _set_babble(emu: SafetyMcuEmulator, on: bool) -> None:
    emu.babble = on


_COMMANDS: Final[dict[str, Callable[[SafetyMcuEmulator, list[str]], str]]] = {
    "cp": _cp,
    "pp": _pp,
    "rcd": _rcd,
    "contactor": _switch(SafetyMcuEmulator.request_contactor, "contactor"),
    "fault": _fault,
    "temp": _temp,
    "silent": _switch(_set_silent, "silent"),
    "deaf": _switch(_set_deaf, "deaf"),
    "babble": _switch(_set_babble, "babble"),
    "corrupt": _corrupt,
    "garbage": _garbage,
    "nack": _nack,
    "ignore": _ignore,
    "version": _version,
    "status": _status,
    "help": lambda emu, args: HELP,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hil.emulators.safety_mcu",
        description="Emulate the safety MCU on a pty linked at --link; read commands from stdin (and --control).",
        epilog="commands:\n" + HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--link", required=True, type=Path, help="symlink to create for the pty slave, e.g. /tmp/mcu0")
    parser.add_argument("--control", type=Path, help="FIFO to read commands from as well as stdin (created if absent)")
    parser.add_argument("--heartbeat-timeout-ms", type=int, default=1000, help="the MCU's watchdog (default 1000)")
    parser.add_argument("--status-period-ms", type=int, default=100, help="periodic STATUS; 0: on change only")
    parser.add_argument("--protocol", default="1.0", help="protocol version the MCU speaks (default 1.0)")
    return parser


def run_cli(argv: list[str] | None = None) -> int:
    """Serve until ``quit``, end of stdin (without --control), SIGINT or SIGTERM."""
    args = _parser().parse_args(argv)
    major, minor = (int(part) for part in args.protocol.split("."))
    config = McuConfig(
        protocol=(major, minor),
        heartbeat_timeout_ms=args.heartbeat_timeout_ms,
        status_period_ms=args.status_period_ms or None,
    )
    out_lock = threading.Lock()
    done = threading.Event()

    def say(text: str) -> None:
        if text:
            with out_lock:
                print(text, flush=True)

    def handle(line: str) -> None:
        if line.strip().lower() == "quit":
            done.set()
        else:
            say(apply_command(emu, line))

    signal.signal(signal.SIGTERM, lambda signum, frame: done.set())
    emu = SafetyMcuEmulator(config, link=args.link)
    emu.on_change = lambda snapshot: say("state " + describe(snapshot))
    with emu:
        if args.control is not None:
            fifo = _open_fifo(args.control)  # before "ready": a script may write as soon as it reads that
            threading.Thread(target=_read_lines, args=(fifo, handle), daemon=True).start()
        say(f"ready link={args.link} tty={os.readlink(args.link)}")
        threading.Thread(target=_read_stdin, args=(handle, done, args.control is None), daemon=True).start()
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
    return 0


def _read_stdin(handle: Callable[[str], None], done: threading.Event, stop_at_eof: bool) -> None:
    for line in sys.stdin:
        handle(line)
        if done.is_set():
            return
    if stop_at_eof:
        done.set()


def _open_fifo(path: Path) -> TextIO:
    if not path.exists():
        os.mkfifo(path)
    # Opened read-write so the FIFO never reports end-of-file when a writer closes it.
    return os.fdopen(os.open(path, os.O_RDWR), "r")


def _read_lines(source: TextIO, handle: Callable[[str], None]) -> None:
    with source:
        for line in source:
            handle(line)
