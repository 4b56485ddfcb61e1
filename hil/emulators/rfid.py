"""RFID reader emulators: the far end of the bus or port a driver opens, with fault hooks.

* :class:`Pn532I2cEmulation` - an emulated PN532 behind the smbus2 calls the I2C driver makes
  (``i2c_rdwr`` with ``i2c_msg``): no kernel I2C bus exists on a test machine, so this is the one
  emulator that stands in for the bus itself. Pass :meth:`Pn532I2cEmulation.bus_factory` as the
  driver's ``bus_factory``.
* :class:`Pn532UartEmulator` - an emulated PN532 on the master end of a real pty pair, speaking HSU;
  the driver opens :attr:`port` (the slave) through pyserial as it would open /dev/ttyUSB0.
* :class:`UidLineWriter` - a "one UID per line" reader on a pty.

Run ``python -m hil.emulators.rfid --link /tmp/rfid0`` to get a PN532 (or ``--kind uid-lines``)
on a pty symlinked at /tmp/rfid0 for the HIL rig; it reads commands (``present 04A2B3C4D5E6F7``,
``remove``, ``help`` ...) one per line from stdin or from ``--commands FIFO``.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import select
import sys
import threading
import tty
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self

from smbus2 import i2c_msg

from hil.emulators.pn532_chip import EmulatedPn532
from hil.emulators.smbus import EmulatedSMBus

I2C_M_RD: Final = 0x0001  # i2c_msg.flags bit of a read (linux/i2c.h)
HSU_WAKE_BYTE: Final = 0x55


def _remote_io_error() -> OSError:
    # What Linux i2c-dev reports when no device acknowledges the address.
    return OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))


# --- I2C ----------------------------------------------------------------------------------------


class Pn532I2cEmulation:
    """An I2C bus number ``bus`` with an emulated PN532 at ``address``.

    Hooks besides the chip's: ``connected = False`` (the chip does not acknowledge its address,
    as when unplugged), ``bus_exists = False`` (``/dev/i2c-<bus>`` missing).
    """

    def __init__(self, chip: EmulatedPn532 | None = None, *, bus: int = 1, address: int = 0x24) -> None:
        self.chip = chip or EmulatedPn532()
        self.bus = bus
        self.address = address
        self.connected = True
        self.bus_exists = True
        self.open_handles = 0  # SMBus handles opened and not closed yet

    def bus_factory(self, bus: int) -> EmulatedSMBus:
        """Open ``/dev/i2c-<bus>`` the way ``smbus2.SMBus(bus)`` does."""
        if bus != self.bus or not self.bus_exists:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), f"/dev/i2c-{bus}")
        self.open_handles += 1
        return EmulatedSMBus(self)

    def transfer(self, message: i2c_msg) -> None:
        """One message of an ``i2c_rdwr`` transaction."""
        if message.addr != self.address or not self.connected:
            raise _remote_io_error()
        chip = self.chip
        with chip.lock:
            chip.awake = True  # on I2C the chip wakes when it recognises its address
            if not message.flags & I2C_M_RD:
                chip.receive(ctypes.string_at(message.buf, message.len))
                return
            length = int(message.len)
            frame = chip.next_frame()
            if frame is None:
                data = bytes(length)  # status 0x00: busy, nothing to read
            else:
                data = (b"\x01" + frame + bytes(length))[:length]
                if length > 1:
                    chip.consume_frame()
        ctypes.memmove(message.buf, data, length)


# --- pty ----------------------------------------------------------------------------------------


class _Pty:
    """A pty pair in raw mode; the emulator keeps both ends open so the port stays alive between
    the driver's opens, and so the driver sees EOF/EIO only when the emulator is stopped."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class _PtyDevice:
    """Common life cycle of the pty emulators: start/stop, context manager, symlinked name."""

    def __init__(self) -> None:
        self._pty: _Pty | None = None
        self._link: Path | None = None

    @property
    def port(self) -> str:
        """The device the driver opens (the pty slave)."""
        if self._pty is None:
            raise RuntimeError("emulator not started")
        return self._pty.port

    def start(self) -> Self:
        self._pty = _Pty()
        return self

    def stop(self) -> None:
        """Close the pty: a driver holding the port sees it vanish, and its name disappears."""
        if self._link is not None and self._link.is_symlink():
            self._link.unlink()
        self._link = None
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    def link(self, path: str | os.PathLike[str]) -> Path:
        """Make ``path`` a symlink to the port (a stable name, like /dev/serial/by-id/...)."""
        link = Path(path)
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            raise FileExistsError(errno.EEXIST, "refusing to replace a file that is not a symlink", str(link))
        link.symlink_to(self.port)
        self._link = link
        return link

    def _write(self, data: bytes) -> None:
        if self._pty is None:
            raise RuntimeError("emulator not started")
        os.write(self._pty.master, data)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Pn532UartEmulator(_PtyDevice):
    """An emulated PN532 in HSU mode on a pty. Until it hears a 0x55 after power-up (or
    ``chip.power_cycle()``) it drops what it receives, as the sleeping chip does.

    Extra hook: :meth:`send_raw` puts bytes on the line at once (noise between exchanges).
    """

    def __init__(self, chip: EmulatedPn532 | None = None) -> None:
        super().__init__()
        self.chip = chip or EmulatedPn532()
        self.wakeups = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        super().start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="pn532-uart-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        super().stop()

    def send_raw(self, data: bytes) -> None:
        self._write(data)

    def _from_host(self, data: bytes) -> None:
        with self.chip.lock:
            if not self.chip.awake:
                wake = data.find(HSU_WAKE_BYTE)
                if wake < 0:
                    return
                self.chip.awake = True
                self.wakeups += 1
                data = data[wake + 1 :]
            self.chip.receive(data)

    def _serve(self) -> None:
        pty = self._pty
        assert pty is not None
        while not self._stop.is_set():
            readable, _, _ = select.select([pty.master], [], [], 0.005)
            if readable:
                try:
                    self._from_host(os.read(pty.master, 4096))
                except OSError:
                    return  # the pty was closed under us: stopping
            out = self.chip.take_output()
            if out:
                os.write(pty.master, out)


class UidLineWriter(_PtyDevice):
    """A reader that prints one UID per line, on a pty; the test or HIL script makes it print."""

    def send_line(self, text: str, ending: str = "\r\n") -> None:
        """Print one line exactly as given (a UID, or garbage)."""
        self._write((text + ending).encode("ascii"))

    def present(
        self, uid: bytes | str, uid_format: Literal["hex", "decimal"] = "hex", *, lsb_first: bool = False
    ) -> None:
        """Print ``uid`` as a reader configured for ``uid_format`` would (decimal: 4 bytes, 10 digits)."""
        raw = bytes.fromhex(uid) if isinstance(uid, str) else uid
        if lsb_first:
            raw = raw[::-1]
        self.send_line(f"{int.from_bytes(raw, 'big'):010d}" if uid_format == "decimal" else raw.hex().upper())

    def send_raw(self, data: bytes) -> None:
        self._write(data)


# --- command line (HIL rig) ---------------------------------------------------------------------

HELP: Final = """commands (one per line):
  present <hex uid>        hold a card (4 or 7 bytes) to the reader
  remove                   take it away (pn532)
  silent on|off            stop/resume answering (pn532)
  drop [n]                 lose the next n commands without an ACK (pn532)
  garbage [n]              noise before the next n responses (pn532); a garbage line (uid-lines)
  bad-checksum [n]         wrong DCS on the next n responses (pn532)
  firmware <ic hex>        IC byte GetFirmwareVersion reports, 32 = PN532 (pn532)
  power-cycle              back to power-up state, asleep (pn532)
  help | quit"""


def _pn532_command(emulator: Pn532UartEmulator, verb: str, args: list[str]) -> None:
    chip = emulator.chip
    count = int(args[0]) if verb in ("drop", "garbage", "bad-checksum") and args else 1
    if verb == "present" and len(args) == 1:
        chip.present(args[0])
    elif verb == "remove":
        chip.remove()
    elif verb == "silent" and args in (["on"], ["off"]):
        chip.silent = args == ["on"]
    elif verb == "drop":
        chip.drop_commands(count)
    elif verb == "garbage":
        chip.inject_garbage(count)
    elif verb == "bad-checksum":
        chip.corrupt_checksum(count)
    elif verb == "firmware" and len(args) == 1:
        chip.firmware_ic = int(args[0], 16)
    elif verb == "power-cycle":
        chip.power_cycle()
    else:
        raise ValueError(f"unknown command {verb!r} (try help)")


def _line_command(writer: UidLineWriter, args: argparse.Namespace, verb: str, words: list[str]) -> None:
    if verb == "present" and len(words) == 1:
        writer.present(words[0], args.format, lsb_first=args.byte_order == "lsb_first")
    elif verb == "garbage":
        writer.send_line("?? READER V1.0 ??")
    else:
        raise ValueError(f"unknown command {verb!r} (try help)")


def _command_lines(path: str | None) -> Iterable[str]:
    if path is None:
        yield from sys.stdin
        return
    while True:  # a FIFO ends at each writer's close: reopen and wait for the next writer
        with open(path, encoding="utf-8") as fifo:
            yield from fifo


def main(argv: Sequence[str] | None = None) -> int:
    """Serve an emulated reader on a pty symlinked at ``--link`` until ``quit`` or end of input."""
    parser = argparse.ArgumentParser(prog="python -m hil.emulators.rfid", description=__doc__.split("\n")[0])
    parser.add_argument("--link", required=True, help="symlink to create for the pty slave, e.g. /tmp/rfid0")
    parser.add_argument("--kind", choices=("pn532", "uid-lines"), default="pn532")
    parser.add_argument("--format", choices=("hex", "decimal"), default="hex", help="uid-lines: how UIDs print")
    parser.add_argument("--byte-order", choices=("msb_first", "lsb_first"), default="msb_first")
    parser.add_argument("--commands", metavar="FIFO", help="read commands from this FIFO instead of stdin")
    args = parser.parse_args(argv)
    device: Pn532UartEmulator | UidLineWriter = Pn532UartEmulator() if args.kind == "pn532" else UidLineWriter()
    with device:
        device.link(args.link)
        print(f"ready {args.kind} {device.port} -> {args.link}", flush=True)
        for line in _command_lines(args.commands):
            verb, *words = line.split() or [""]
            if not verb:
                continue
            if verb == "quit":
                break
            if verb == "help":
                print(HELP, flush=True)
                continue
            try:
                if isinstance(device, Pn532UartEmulator):
                    _pn532_command(device, verb, words)
                else:
                    _line_command(device, args, verb, words)
            except ValueError as exc:
                print(f"error: {exc}", flush=True)
            else:
                print("ok", flush=True)
    return 0


__all__ = ["EmulatedPn532", "EmulatedSMBus", "Pn532I2cEmulation", "Pn532UartEmulator", "UidLineWriter", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
