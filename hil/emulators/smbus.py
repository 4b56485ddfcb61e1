"""The SMBus handle an emulated I2C device gives the driver under test (PN532 reader, LCD backpack): the
`i2c_rdwr`/`close` part of smbus2's SMBus, forwarding each message to the device, and EBADF once closed, as a
closed /dev/i2c-N file would."""

from __future__ import annotations

import errno
import os
from typing import Protocol

from smbus2 import i2c_msg


class I2cDevice(Protocol):
    """What an emulated device offers its handles: a message to handle, and a count of open handles."""

    open_handles: int

    def transfer(self, message: i2c_msg) -> None: ...


class EmulatedSMBus:
    """The SMBus-compatible handle a device's `bus_factory` returns."""

    def __init__(self, device: I2cDevice) -> None:
        self._device: I2cDevice | None = device

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None:
        if self._device is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        for message in i2c_msgs:
            self._device.transfer(message)

    def close(self) -> None:
        if self._device is not None:
            self._device.open_handles -= 1
        self._device = None
