"""One PN532 command exchange, robust against a noisy or forgetful link.

The host protocol (UM0701-02 6.2.2): the host sends a command frame, the chip answers with an ACK
frame and then, when the command is done, a response frame whose command code is the request's
plus one. Recovery used here:

* garbage or a false start code: the decoder skips to the next start code (resync);
* a response with a bad data checksum: the host sends NACK and the chip repeats its response;
* no ACK or no response in time: the host sends ACK (which aborts a pending command) and sends
  the command again, up to :data:`ATTEMPTS` times in all;
* a syntax-error frame: counts as a failed attempt.

Only after every attempt failed does :meth:`Pn532Link.call` raise, with one line saying why.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

from drivers.errors import DriverError
from drivers.rfid.pn532_commands import command_name
from drivers.rfid.pn532_frames import (
    ACK,
    ERROR_TFI,
    NACK,
    PN532_TO_HOST,
    AckFrame,
    ChecksumMismatch,
    Frame,
    FrameDecoder,
    NackFrame,
    encode_command,
)
from drivers.rfid.pn532_transport import Pn532Transport

log = logging.getLogger(__name__)

ATTEMPTS: Final = 3
#: NACKs sent for one attempt before it counts as failed (the response keeps arriving damaged).
MAX_NACKS: Final = 2


class Pn532Link:
    """Blocking command/response exchanges with one PN532; thread-safe (one exchange at a time).

    ``timeout_s`` bounds each attempt (ACK plus response), so a silent chip costs
    ``ATTEMPTS * timeout_s`` before :meth:`call` gives up.
    """

    def __init__(self, transport: Pn532Transport, device: str, timeout_s: float) -> None:
        self.transport = transport
        self.device = device
        self.timeout_s = timeout_s
        self._decoder = FrameDecoder()
        self._lock = threading.Lock()

    def open(self) -> None:
        """Open the transport (idempotent); OSError when the device is missing."""
        with self._lock:
            self.transport.open()

    def close(self) -> None:
        """Close the transport; waits for an exchange in flight to finish first."""
        with self._lock:
            self.transport.close()
            self._decoder.clear()

    def call(self, command: int, params: bytes = b"") -> bytes:
        """Send ``command`` and return its response data (after the response code).

        Raises DriverError when no attempt got a valid response.
        """
        frame = encode_command(command, params)
        problem = "no answer"
        with self._lock:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    outcome = self._attempt(command, frame)
                except OSError as exc:
                    outcome = exc.strerror or str(exc) or type(exc).__name__
                if isinstance(outcome, bytes):
                    return outcome
                problem = outcome
                log.debug(
                    "device=%r command=%s attempt=%d problem=%s", self.device, command_name(command), attempt, problem
                )
                try:
                    self.transport.write(ACK)  # abort whatever the chip may still be doing
                except OSError:
                    pass  # the next attempt reports the device trouble
        raise DriverError(self.device, f"{command_name(command)}: {problem} (after {ATTEMPTS} attempts)")

    def _attempt(self, command: int, frame: bytes) -> bytes | str:
        """One try: the response data, or a short description of what went wrong."""
        self._decoder.clear()
        self.transport.discard_input()
        self.transport.write(frame)
        deadline = time.monotonic() + self.timeout_s
        acked, nacks = False, 0
        while (remaining := deadline - time.monotonic()) > 0:
            for item in self._decoder.feed(self.transport.read(remaining)):
                if isinstance(item, AckFrame):
                    acked = True
                elif isinstance(item, ChecksumMismatch):
                    if nacks == MAX_NACKS:
                        return "response checksum wrong"
                    nacks += 1
                    self.transport.write(NACK)  # ask for the same response again
                elif isinstance(item, Frame) and item.tfi == ERROR_TFI:
                    return "PN532 answered with a syntax error frame"
                elif isinstance(item, Frame) and item.tfi == PN532_TO_HOST and item.data[:1] == bytes([command + 1]):
                    return item.data[1:]
                elif not isinstance(item, NackFrame):
                    log.debug("device=%r skipped unexpected frame %r", self.device, item)
        return "no response (timed out)" if acked else "no ACK (timed out)"
