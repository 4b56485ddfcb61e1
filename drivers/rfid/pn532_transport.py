"""How PN532 frames reach the chip: over I2C (smbus2) or HSU (a UART, pyserial).

The two differ only in framing of the bus itself: on I2C each read starts with a status byte whose
bit 0 says a frame is ready (the host polls it); on HSU the frames are a plain byte stream, and a
chip in power-down needs a wake-up preamble first. Everything above (ACK, NACK, retries) is in
:mod:`drivers.rfid.pn532_link`. All methods block; the driver calls them in a worker thread.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from typing import Final, Protocol

from smbus2 import i2c_msg

from drivers.rfid.serial_port import SerialPort

#: HSU wake-up: 0x55 gives the falling edges that wake the chip, the 0x00s (a long preamble) give
#: it time to start its oscillator before the first real frame.
HSU_WAKEUP: Final = b"\x55\x55" + bytes(14)

#: I2C status byte: bit 0 set when the PN532 has a frame for the host.
I2C_READY: Final = 0x01
#: Bytes read after the status byte: longer than any answer this driver asks for (an
#: InListPassiveTarget answer with a 10-byte UID and a 20-byte ATS is 42 bytes with its framing).
I2C_READ_LENGTH: Final = 64
I2C_STATUS_POLL_S: Final = 0.002


class Pn532Transport(Protocol):
    """A byte pipe to one PN532; every method may raise OSError when the device is absent."""

    description: str

    def open(self) -> None:
        """Open the bus or port (idempotent) and wake the chip."""
        ...

    def close(self) -> None: ...

    def discard_input(self) -> None:
        """Forget bytes that arrived unasked (stale answers)."""
        ...

    def write(self, frame: bytes) -> None: ...

    def read(self, max_wait_s: float) -> bytes:
        """The next bytes from the chip, b"" when none came within ``max_wait_s``."""
        ...


class I2cBus(Protocol):
    """The part of ``smbus2.SMBus`` the PN532 driver uses (an emulation implements the same)."""

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None: ...

    def close(self) -> None: ...


#: Opens I2C bus number ``n`` (``/dev/i2c-n``); ``smbus2.SMBus`` on a board.
I2cBusFactory = Callable[[int], I2cBus]


def _message_bytes(message: i2c_msg) -> bytes:
    # smbus2's stub types __bytes__ as returning str; read the ctypes buffer directly instead.
    return ctypes.string_at(message.buf, message.len)


class I2cTransport:
    """PN532 on I2C: write a frame in one transaction; read by polling the status byte, then
    reading status + frame in one transaction (the chip restarts each read with the status)."""

    def __init__(self, bus: int, address: int, bus_factory: I2cBusFactory) -> None:
        self.bus = bus
        self.address = address
        self.description = f"i2c-{bus} address 0x{address:02X}"
        self._bus_factory = bus_factory
        self._i2c: I2cBus | None = None

    def open(self) -> None:
        # No wake-up sequence: on I2C the chip wakes when it recognises its own address.
        if self._i2c is None:
            self._i2c = self._bus_factory(self.bus)

    def close(self) -> None:
        i2c, self._i2c = self._i2c, None
        if i2c is not None:
            try:
                i2c.close()
            except OSError:
                pass  # the adapter is gone already

    def _bus(self) -> I2cBus:
        if self._i2c is None:
            raise OSError(f"{self.description} is not open")
        return self._i2c

    def discard_input(self) -> None:
        """Nothing to do: a stale frame on the chip is read and skipped like any other."""

    def write(self, frame: bytes) -> None:
        self._bus().i2c_rdwr(i2c_msg.write(self.address, frame))

    def read(self, max_wait_s: float) -> bytes:
        deadline = time.monotonic() + max_wait_s
        last_error: OSError | None = None
        answered = False
        while True:
            status = i2c_msg.read(self.address, 1)
            try:
                self._bus().i2c_rdwr(status)
                answered = True
            except OSError as exc:  # a busy or waking PN532 may not acknowledge its address
                last_error = exc
            else:
                if _message_bytes(status)[0] & I2C_READY:
                    frame = i2c_msg.read(self.address, 1 + I2C_READ_LENGTH)
                    self._bus().i2c_rdwr(frame)
                    data = _message_bytes(frame)
                    return data[1:] if data[0] & I2C_READY else b""
            if time.monotonic() >= deadline:
                if not answered and last_error is not None:
                    raise last_error  # never acknowledged: absent, not just slow
                return b""
            time.sleep(I2C_STATUS_POLL_S)


class UartTransport:
    """PN532 on HSU: frames as a byte stream over a serial port; the wake-up preamble on open."""

    def __init__(self, port: str, baudrate: int) -> None:
        self.description = f"{port} at {baudrate} Bd"
        self._port = SerialPort(port, baudrate)

    def open(self) -> None:
        if not self._port.is_open:
            self._port.open()
            # After power-up (LowVbat) or PowerDown the chip sleeps and drops what it hears.
            self._port.write(HSU_WAKEUP)

    def close(self) -> None:
        self._port.close()

    def discard_input(self) -> None:
        self._port.discard_input()

    def write(self, frame: bytes) -> None:
        self._port.write(frame)

    def read(self, max_wait_s: float) -> bytes:
        return self._port.read(max_wait_s)
