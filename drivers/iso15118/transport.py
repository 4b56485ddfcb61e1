"""What the bridge needs from a transport: whole messages in and out, and word of a lost one.

The station side (:class:`drivers.iso15118.link.ModuleLink`) and the emulated module
(:mod:`hil.emulators.iso15118`) are written against this Protocol only, so CAN and serial differ in
one small class each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol


class Lost:
    """Marker for "a message from the peer was lost": a broken transfer, a CRC error, garbage.

    The receiver cannot know what the message was, so the station reacts by asking the module to
    repeat its whole state (a HELLO).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "LOST"


LOST: Final = Lost()


class MessageTransport(Protocol):
    """A link carrying whole bridge messages. Every method raises DriverError on device trouble."""

    @property
    def device(self) -> str:
        """Names the device in errors and logs, e.g. ``"iso15118 can0"``."""
        ...

    async def open(self) -> None:
        """Open the device; safe to call again after :meth:`close`."""
        ...

    async def close(self) -> None:
        """Release the device; never raises, safe to call when not open."""
        ...

    async def send(self, message: bytes) -> None:
        """Send one encoded message (1..4095 bytes)."""
        ...

    async def receive(self, timeout: float) -> list[bytes | Lost]:
        """Wait up to ``timeout`` seconds for traffic; an empty list when nothing came."""
        ...


class RawTransport(MessageTransport, Protocol):
    """A transport that can also put raw frames or bytes on the wire: fault hooks of the emulator."""

    async def send_raw(self, chunks: Sequence[bytes]) -> None:
        """Send ``chunks`` as they are: CAN data fields (one frame each) or serial bytes."""
        ...
