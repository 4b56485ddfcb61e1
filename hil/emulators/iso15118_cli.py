"""``python -m hil.emulators.iso15118``: an emulated SECC module for HIL rigs, scripted on stdin.

A rig script starts it on the station's bus (``--channel vcan0``, or ``--serial /dev/ttyUSB1``) and
writes one command per line; the emulator prints one JSON object per line for everything the station
sends (limit, authorization, hello) and for each command's result, so a script can wait for a line.

Commands (options are ``key=value``)::

    start EVCCID [protocol=ISO15118-2] [mode=AC_three_phase]
    contract [emaid=EMAID] [hash=ALG,ISSUER_NAME_HASH,ISSUER_KEY_HASH,SERIAL,URL]...
    needs [current=32] [voltage=400] [energy=WH] [departure=S] [power=W] [min_current=A] [mode=...]
    stop [reason=StoppedByEV]
    certificate [action=Install|Update] [size=BYTES | exi=HEX] [schema=urn:iso:15118:2:2013:MsgDef]
    csr COMMON_NAME [organization=O] [country=C]
    fault CODE [DETAIL...]
    clear CODE
    silent on|off
    status
    quit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import serial  # type: ignore[import-untyped]  # pyserial ships no type information

from drivers.errors import DriverError
from drivers.interfaces import EnergyTransferMode, HashAlgorithm, Iso15118Protocol, Iso15118StopReason, OcspRequestData
from drivers.iso15118.certificate_messages import (
    CertificateAction,
    EvCertificateResponse,
    RootCertificates,
    V2gCertificateChain,
    V2gCsrRequest,
)
from drivers.iso15118.messages import Authorization, CurrentLimit, Hello, Message
from drivers.iso15118.ocsp_messages import V2gOcspResponses
from drivers.iso15118.serial_transport import ByteStream, SerialTransport
from hil.emulators.iso15118 import DEFAULT_BASE_ID, DEFAULT_NAME, EmulatedSecc


def _print(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def _options(words: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            raise ValueError(f"expected key=value, got {word!r}")
        found.setdefault(key, []).append(value)
    return found


def _one(options: dict[str, list[str]], key: str, convert: Callable[[str], Any], default: Any = None) -> Any:
    values = options.pop(key, None)
    return default if values is None else convert(values[-1])


def _no_more(options: dict[str, list[str]]) -> None:
    if options:
        raise ValueError(f"unknown option(s): {', '.join(sorted(options))}")


def _hash_entry(text: str) -> OcspRequestData:
    parts = text.split(",")
    if len(parts) != 5:
        raise ValueError("hash= takes ALG,ISSUER_NAME_HASH,ISSUER_KEY_HASH,SERIAL,URL")
    return OcspRequestData(HashAlgorithm(parts[0]), *parts[1:])


async def run_command(module: EmulatedSecc, line: str) -> bool:
    """Carry out one command line; False when the session with the rig should end."""
    words = line.split()
    if not words:
        return True
    command, args = words[0], words[1:]
    if command == "quit":
        return False
    if command == "start":
        if not args:
            raise ValueError("start needs an EVCCID")
        opts = _options(args[1:])
        protocol = _one(opts, "protocol", Iso15118Protocol, Iso15118Protocol.ISO_15118_2)
        mode = _one(opts, "mode", EnergyTransferMode, EnergyTransferMode.AC_THREE_PHASE)
        _no_more(opts)
        _print({"ok": command, "session": await module.start_session(args[0], protocol, mode)})
        return True
    if command == "contract":
        opts = _options(args)
        emaid = _one(opts, "emaid", str)
        entries = [_hash_entry(text) for text in opts.pop("hash", [])]
        _no_more(opts)
        await module.present_contract(emaid, entries)
    elif command == "needs":
        opts = _options(args)
        await module.send_charging_needs(
            max_current_a=_one(opts, "current", float, 32.0),
            max_voltage_v=_one(opts, "voltage", float, 400.0),
            requested_energy_wh=_one(opts, "energy", int),
            departure_s=_one(opts, "departure", int),
            max_power_w=_one(opts, "power", int),
            min_current_a=_one(opts, "min_current", float),
            energy_mode=_one(opts, "mode", EnergyTransferMode),
        )
        _no_more(opts)
    elif command == "stop":
        opts = _options(args)
        reason = _one(opts, "reason", Iso15118StopReason, Iso15118StopReason.STOPPED_BY_EV)
        _no_more(opts)
        await module.stop_session(reason)
    elif command == "certificate":
        _print({"ok": command, "request": await _certificate(module, _options(args))})
        return True
    elif command == "csr":
        if not args:
            raise ValueError("csr needs a common name")
        opts = _options(args[1:])
        organization = _one(opts, "organization", str, "EVSE Stack")
        country = _one(opts, "country", str, "DE")
        _no_more(opts)
        await module.send_v2g_csr(args[0], organization, country)
    elif command == "fault":
        if not args:
            raise ValueError("fault needs a code")
        await module.raise_fault(int(args[0], 0), " ".join(args[1:]))
    elif command == "clear":
        if len(args) != 1:
            raise ValueError("clear needs exactly one code")
        await module.clear_fault(int(args[0], 0))
    elif command == "silent":
        if args not in (["on"], ["off"]):
            raise ValueError("silent on|off")
        module.silent = args == ["on"]
    elif command == "status":
        limit = module.last_limit
        _print(
            {
                "status": "ok",
                "session": module.session_id,
                "limit": None if limit is None else _limit_json(limit),
                "authorizations": [a.accepted for a in module.authorizations],
                "hellos": module.hellos_received,
                "heartbeats": module.heartbeats_received,
            }
        )
        return True
    else:
        raise ValueError(f"unknown command {command!r}")
    _print({"ok": command})
    return True


def _action(text: str) -> CertificateAction:
    try:
        return CertificateAction[text.upper()]
    except KeyError:
        raise ValueError(f"action is Install or Update, not {text!r}") from None


async def _certificate(module: EmulatedSecc, opts: dict[str, list[str]]) -> int:
    """The EV's CertificateInstallationReq/UpdateReq: given as hex, or ``size`` stand-in bytes."""
    action = _one(opts, "action", _action, CertificateAction.INSTALL)
    exi = _one(opts, "exi", bytes.fromhex)
    size = _one(opts, "size", int, 4200)
    schema = _one(opts, "schema", str, "urn:iso:15118:2:2013:MsgDef")
    _no_more(opts)
    if exi is None:
        exi = bytes(i % 251 for i in range(size))
    return await module.request_ev_certificate(exi, action, schema)


def _limit_json(limit: CurrentLimit) -> dict[str, Any]:
    return {
        "current_a": None if limit.current_da is None else limit.current_da / 10,
        "power_w": limit.power_w,
    }


def _report(message: Message) -> None:
    if isinstance(message, CurrentLimit):
        _print({"station": "limit", **_limit_json(message)})
    elif isinstance(message, Authorization):
        _print({"station": "authorization", "session": message.session_id, "accepted": message.accepted})
    elif isinstance(message, Hello):
        _print({"station": "hello", "version": message.version, "name": message.name})
    elif isinstance(message, EvCertificateResponse):
        answer = {"request": message.request_id, "accepted": message.accepted, "exi_bytes": len(message.exi)}
        _print({"station": "ev_certificate", **answer})
    elif isinstance(message, V2gCsrRequest):
        _print({"station": "csr_request", "common_name": message.common_name})
    elif isinstance(message, V2gCertificateChain):
        _print({"station": "v2g_chain", "certificates": message.chain_pem.count("BEGIN CERTIFICATE")})
    elif isinstance(message, RootCertificates):
        _print({"station": "roots", "kind": message.kind.name, "count": len(message.certificates_pem)})
    elif isinstance(message, V2gOcspResponses):
        _print(
            {"station": "ocsp_responses", "count": len(message.responses), "bytes": [len(r) for r in message.responses]}
        )


def build_module(args: argparse.Namespace) -> EmulatedSecc:
    """The emulator on the wire the arguments name."""
    if args.serial:
        port, baudrate = args.serial, args.baudrate

        def open_port() -> ByteStream:
            stream: ByteStream = serial.Serial(port, baudrate, timeout=0, write_timeout=1.0, exclusive=True)
            return stream

        transport = SerialTransport(open_stream=open_port, device=f"emulated SECC {port}", byte_time_s=10 / baudrate)
        return EmulatedSecc(transport, heartbeat_ms=args.heartbeat_ms, name=args.name)
    return EmulatedSecc.on_can(
        args.channel,
        interface=args.interface,
        base_id=args.base_id,
        bitrate=args.bitrate,
        heartbeat_ms=args.heartbeat_ms,
        name=args.name,
    )


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Body of a daemon thread: a blocked ``readline`` must not keep the process alive on Ctrl-C."""
    try:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)
    except RuntimeError:  # the loop is closed: the emulator is shutting down anyway
        pass


async def serve(module: EmulatedSecc) -> None:
    """Run ``module`` and feed it stdin's commands until ``quit`` or end of input."""
    module.on_message = _report
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    reader = threading.Thread(target=_read_stdin, args=(asyncio.get_running_loop(), lines), daemon=True)
    async with module:
        _print({"ready": module.name})
        reader.start()
        while (line := await lines.get()) is not None:
            try:
                if not await run_command(module, line):
                    break
            except (ValueError, RuntimeError, DriverError) as exc:
                _print({"error": str(exc)})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hil.emulators.iso15118", description=__doc__.split("\n")[0])
    wire = p.add_mutually_exclusive_group(required=True)
    wire.add_argument("--channel", help="CAN channel, e.g. vcan0")
    wire.add_argument("--serial", help="serial port, e.g. /dev/ttyUSB1")
    p.add_argument("--interface", default="socketcan", help="python-can interface (default socketcan)")
    p.add_argument("--bitrate", type=int, default=500_000)
    p.add_argument("--base-id", type=lambda s: int(s, 0), default=DEFAULT_BASE_ID, help="station's id (default 0x600)")
    p.add_argument("--baudrate", type=int, default=115200)
    p.add_argument("--heartbeat-ms", type=int, default=500)
    p.add_argument("--name", default=DEFAULT_NAME)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(serve(build_module(args)))
    except DriverError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
