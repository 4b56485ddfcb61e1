"""An emulated PN532 as its host sees it: frames in, ACK and response frames out, with fault hooks.

Transport-free; :mod:`hil.emulators.rfid` puts it behind an emulated I2C bus or on the far end
of a pty. It answers the commands the driver uses (GetFirmwareVersion, SAMConfiguration,
RFConfiguration, InListPassiveTarget), honours NACK (resend) and a host ACK (abort), and, like the
real chip, lets InListPassiveTarget wait for a card forever unless MaxRetries was configured.
Thread-safe: the driver's worker thread and the test (or HIL script) use it at once.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Final

from drivers.rfid import pn532_commands as cmd
from drivers.rfid.pn532_frames import (
    ACK,
    ERROR_TFI,
    HOST_TO_PN532,
    PN532_TO_HOST,
    AckFrame,
    ChecksumMismatch,
    Frame,
    FrameDecoder,
    NackFrame,
    encode_frame,
)

#: What a noisy line produces: stray bytes, a start code with a wrong length checksum, more bytes.
GARBAGE: Final = b"\x13\x37\x00\xff\x05\x00\xaa\x55\xfe"
SYNTAX_ERROR_FRAME: Final = encode_frame(ERROR_TFI, b"")
#: The default MaxRetries.MxRtyPassiveActivation: retry forever.
RETRY_FOREVER: Final = 0xFF


def _uid_bytes(uid: bytes | str) -> bytes:
    raw = bytes.fromhex(uid) if isinstance(uid, str) else bytes(uid)
    if len(raw) not in (4, 7, 10):
        raise ValueError(f"an ISO 14443 A UID has 4, 7 or 10 bytes, not {len(raw)}")
    return raw


class EmulatedPn532:
    """The chip. Hooks: :meth:`present`, :meth:`remove`, ``silent``, :meth:`drop_commands`,
    :meth:`inject_garbage`, :meth:`corrupt_checksum`, ``firmware_ic``, :meth:`power_cycle`.
    Observations: ``commands`` (command codes executed, in order), ``dropped``, ``nacks``,
    ``aborts`` (host ACKs), ``garbage_sent``, ``corrupted_sent``, ``sam_mode``,
    ``passive_retries``, ``awake``.
    """

    def __init__(self, *, firmware_ic: int = cmd.PN532_IC, version: int = 1, revision: int = 6) -> None:
        self.lock = threading.RLock()
        self.firmware_ic = firmware_ic
        self.version = version
        self.revision = revision
        self.silent = False
        self.commands: list[int] = []
        self.nacks = 0
        self.aborts = 0
        self.garbage_sent = 0
        self.corrupted_sent = 0
        self.dropped = 0
        self._drop_pending = 0
        self.card: cmd.TypeATarget | None = None
        self._decoder = FrameDecoder()
        self._output: deque[bytes] = deque()
        self._last_response: bytes | None = None
        self._garbage_pending = 0
        self._corrupt_pending = 0
        self.awake = False
        self.sam_mode: int | None = None
        self.passive_retries = RETRY_FOREVER
        self._waiting_for_card = False
        self.power_cycle()

    # --- hooks ---------------------------------------------------------------------------------

    def present(self, uid: bytes | str) -> None:
        """Hold a card with this UID (bytes or hex text; 4, 7 or 10 bytes) to the antenna."""
        raw = _uid_bytes(uid)
        # ATQA/SAK of a MIFARE Classic 1K (4-byte UID) or an Ultralight/NTAG (7-byte UID).
        sens_res, sel_res = (b"\x00\x04", 0x08) if len(raw) == 4 else (b"\x00\x44", 0x00)
        with self.lock:
            self.card = cmd.TypeATarget(sens_res, sel_res, raw)
            if self._waiting_for_card:
                self._waiting_for_card = False
                self._respond(self._list_targets())

    def remove(self) -> None:
        """Take the card away."""
        with self.lock:
            self.card = None

    def drop_commands(self, count: int = 1) -> None:
        """Lose the next ``count`` command frames without an ACK (a chip still waking up swallows
        the first command after the HSU wake-up); 0 stops it."""
        with self.lock:
            self._drop_pending = count

    def inject_garbage(self, count: int = 1) -> None:
        """Precede each of the next ``count`` responses with line noise (including a false start
        code); 0 stops it."""
        with self.lock:
            self._garbage_pending = count

    def corrupt_checksum(self, count: int = 1) -> None:
        """Send the next ``count`` responses, retransmissions after a NACK included, with a wrong
        DCS; 0 stops it."""
        with self.lock:
            self._corrupt_pending = count

    def power_cycle(self) -> None:
        """Back to power-up state: asleep (HSU needs a wake-up), not configured, nothing pending."""
        with self.lock:
            self.awake = False
            self.sam_mode = None
            self.passive_retries = RETRY_FOREVER
            self._waiting_for_card = False
            self._output.clear()
            self._decoder.clear()
            self._last_response = None

    # --- host side -----------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the host (already past any transport-level wake-up)."""
        with self.lock:
            for item in self._decoder.feed(data):
                if self.silent or isinstance(item, ChecksumMismatch):
                    continue  # a damaged command is not acknowledged: the host times out and resends
                if isinstance(item, AckFrame):
                    self.aborts += 1
                    self._waiting_for_card = False
                    self._output.clear()
                elif isinstance(item, NackFrame):
                    self.nacks += 1
                    if self._last_response is not None:
                        self._send(self._last_response)
                elif self._drop_pending:
                    self._drop_pending -= 1
                    self.dropped += 1
                else:
                    self._output.append(ACK)
                    self._execute(item)

    def take_output(self) -> bytes:
        """Everything the chip has to send, as one byte stream (HSU)."""
        with self.lock:
            out = b"".join(self._output)
            self._output.clear()
            return out

    def next_frame(self) -> bytes | None:
        """The frame the chip has ready (I2C status bit 0), without consuming it."""
        with self.lock:
            return self._output[0] if self._output else None

    def consume_frame(self) -> None:
        """The host read the ready frame."""
        with self.lock:
            if self._output:
                self._output.popleft()

    # --- behaviour -----------------------------------------------------------------------------

    def _respond(self, data: bytes) -> None:
        self._last_response = encode_frame(PN532_TO_HOST, data)
        self._send(self._last_response)

    def _send(self, frame: bytes) -> None:
        """Queue a response frame, damaged as the fault hooks ask."""
        if self._garbage_pending:
            self._garbage_pending -= 1
            self.garbage_sent += 1
            self._output.append(GARBAGE)
        if self._corrupt_pending:
            self._corrupt_pending -= 1
            self.corrupted_sent += 1
            frame = frame[:-2] + bytes([frame[-2] ^ 0x5A]) + frame[-1:]
        self._output.append(frame)

    def _list_targets(self) -> bytes:
        reply = bytes([cmd.IN_LIST_PASSIVE_TARGET + 1])
        if self.card is None:
            return reply + b"\x00"
        return reply + b"\x01" + cmd.encode_type_a_target(1, self.card)

    def _execute(self, frame: Frame) -> None:
        if frame.tfi != HOST_TO_PN532 or not frame.data:
            self._output.append(SYNTAX_ERROR_FRAME)
            return
        code, params = frame.data[0], frame.data[1:]
        self.commands.append(code)
        reply = bytes([code + 1])
        if code == cmd.GET_FIRMWARE_VERSION:
            self._respond(reply + bytes([self.firmware_ic, self.version, self.revision, 0x07]))
        elif code == cmd.SAM_CONFIGURATION and params:
            self.sam_mode = params[0]
            self._respond(reply)
        elif code == cmd.RF_CONFIGURATION and params[:1] == bytes([cmd.RF_ITEM_MAX_RETRIES]) and len(params) == 4:
            self.passive_retries = params[3]
            self._respond(reply)
        elif code == cmd.IN_LIST_PASSIVE_TARGET and params == cmd.LIST_ONE_TYPE_A_PARAMS:
            if self.card is None and self.passive_retries == RETRY_FOREVER:
                self._waiting_for_card = True  # like the chip: no answer until a card comes
            else:
                self._respond(self._list_targets())
        else:
            self._output.append(SYNTAX_ERROR_FRAME)
