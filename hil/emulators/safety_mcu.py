"""A safety-MCU emulator on the far end of a real pty pair, with fault hooks, for tests and HIL rigs.

The driver under test opens the pty's slave end through pyserial exactly as it opens /dev/ttyS1 on a
board; this side reads and writes the master end in a thread, runs :class:`McuModel` (the MCU's
behaviour) and can damage the line the ways real lines get damaged: TX cut (``silent``), RX cut
(``deaf``), stray bytes (``inject``), corrupted frames (``corrupt_next``, ``babble``).

Like gpiozero's mock pins, it records what the far end did (duty cycles and relay states with
timestamps, every frame received) so a test asserts on the MCU's view, not the driver's.

``python -m hil.emulators.safety_mcu --link /tmp/mcu0`` runs one for a HIL rig (see
hil/emulators/safety_mcu_cli.py for the commands it reads).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from drivers.interfaces import PilotState
from drivers.pilot.framing import Frame, FrameDecoder, encode_frame
from drivers.pilot.link import IDLE_GAP_S
from drivers.pilot.messages import McuFault, MsgType, NackCode
from hil.emulators.mcu_model import McuConfig, McuModel

#: Longest the serving thread sleeps: the resolution of the MCU's watchdog and STATUS period.
TICK_S: Final = 0.01
#: Frames from Linux kept in ``received`` (the newest).
RECEIVED_KEPT: Final = 10_000


@dataclass(frozen=True, slots=True)
class McuSnapshot:
    """What the emulated MCU measures and drives at one instant."""

    ev_state: PilotState
    cp_state: PilotState
    duty_permille: int
    pp_current_a: int | None
    rcd_tripped: bool
    relay_enabled: bool
    relay_closed: bool
    safe: bool
    faults: McuFault
    temperature_c: float
    protocol: tuple[int, int]


class SafetyMcuEmulator:
    """The safety MCU behind a pty; every hook is thread-safe and takes effect within one tick."""

    def __init__(self, config: McuConfig | None = None, *, link: str | os.PathLike[str] | None = None) -> None:
        self._model = McuModel(config or McuConfig())
        self._link = Path(link) if link is not None else None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = self._wake_r = self._wake_w = -1
        self._tty_name = ""
        # byte-level fault hooks
        self.silent = False  # TX cut: the MCU sends nothing
        self.deaf = False  # RX cut: the MCU receives nothing (so its watchdog starves)
        self.babble = False  # every frame sent with a broken CRC
        self._corrupt_next = 0
        self._prefix = b""
        self._force_write = False  # write the prefix even without a frame to glue it to
        # records
        self.received: deque[Frame] = deque(maxlen=RECEIVED_KEPT)  # bounded: a HIL rig runs for days
        self.duty_history: list[tuple[float, int]] = []
        self.relay_history: list[tuple[float, bool]] = []
        self.on_change: Callable[[McuSnapshot], None] | None = None  # called in the emulator thread
        self._last_outputs: tuple[int, bool, bool] | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        """Create the pty pair (both ends raw), link the slave path if asked, start serving."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)  # nobody reading the slave: bytes are lost, as on a UART
        self._tty_name = os.ttyname(self._slave)
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()
            self._link.symlink_to(self._tty_name)
        self._wake_r, self._wake_w = os.pipe()
        now = time.monotonic()
        self._model.uptime_origin = now
        self._record(now)
        self._thread = threading.Thread(target=self._serve, name="safety-mcu emulator", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the pty: the driver's next read fails as on an unplugged adapter."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._link is not None and self._link.is_symlink() and os.readlink(self._link) == self._tty_name:
            self._link.unlink()
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = self._wake_r = self._wake_w = -1

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> str:
        """The path a driver opens: the link when one was asked for, else the pty slave's name."""
        return str(self._link) if self._link is not None else self._tty_name

    # ---- what the EV, the cable and the installation do -----------------------------------------

    def set_ev_state(self, state: PilotState | str) -> None:
        """The EV's side of the CP: A (unplugged) .. E (shorted); F is the EVSE's own doing."""
        ev = PilotState(state)
        if ev is PilotState.F:
            raise ValueError("state F is driven by the EVSE, not by the EV")
        self._change(lambda m: setattr(m, "ev_state", ev))

    def set_cable(self, amps: int | None) -> None:
        """The PP resistor of the plugged cable as a current rating; None: no cable."""
        self._change(lambda m: setattr(m, "pp_current_a", amps))

    def trip_rcd(self) -> None:
        self._change(lambda m: setattr(m, "rcd_tripped", True))

    def reset_rcd(self) -> None:
        self._change(lambda m: setattr(m, "rcd_tripped", False))

    def set_fault(self, fault: McuFault, active: bool) -> None:
        self._change(lambda m: setattr(m, "faults", m.faults | fault if active else m.faults & ~fault))

    def set_temperature(self, celsius: float) -> None:
        self._change(lambda m: setattr(m, "temperature_c", celsius))

    def request_contactor(self, closed: bool) -> None:
        """Linux's contactor output (a GPIO on the board), which the relay enable gates."""
        self._change(lambda m: setattr(m, "contactor_requested", closed))

    # ---- protocol fault hooks ----------------------------------------------------------------------

    def set_protocol(self, version: tuple[int, int]) -> None:
        """Speak another protocol version from the next HELLO on (a reflashed MCU)."""
        self._change(lambda m: setattr(m, "config", replace(m.config, protocol=version)))

    def nack_next(self, code: NackCode, count: int = 1) -> None:
        """Refuse the next ``count`` SET_PWM requests with ``code``."""
        self._change(lambda m: m.nack_next.extend([code] * count))

    def ignore_requests(self, count: int, msg_type: MsgType | None = None) -> None:
        """Answer none of the next ``count`` requests of ``msg_type`` (None: any); they still feed the watchdog."""

        def mutate(model: McuModel) -> None:
            model.ignore_requests = count
            model.ignore_type = msg_type

        self._change(mutate)

    def corrupt_next(self, count: int = 1) -> None:
        """Send the next ``count`` frames with a broken CRC."""
        with self._cond:
            self._corrupt_next += count

    def inject(self, data: bytes, *, before_next_frame: bool = False) -> None:
        """Put stray bytes on the line, now or glued to the front of the next frame (same write)."""
        with self._cond:
            self._prefix += data
            self._force_write = not before_next_frame
        self._wake()

    # ---- observation -------------------------------------------------------------------------------

    def snapshot(self) -> McuSnapshot:
        with self._cond:
            return self._snapshot()

    def wait_for(self, predicate: Callable[[McuSnapshot], bool], timeout: float) -> bool:
        """Block until ``predicate(snapshot)`` holds (True) or ``timeout`` seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._snapshot()), timeout)

    def frames_of_type(self, msg_type: int) -> list[Frame]:
        with self._cond:
            return [f for f in self.received if f.type == msg_type]

    # ---- the serving thread ------------------------------------------------------------------------

    def _change(self, mutate: Callable[[McuModel], object]) -> None:
        with self._cond:
            mutate(self._model)
            self._model.touch()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    def _snapshot(self) -> McuSnapshot:
        m = self._model
        return McuSnapshot(
            m.ev_state,
            m.cp_state,
            m.duty_permille,
            m.pp_current_a,
            m.rcd_tripped,
            m.relay_enabled,
            m.relay_closed,
            m.safe,
            m.faults,
            m.temperature_c,
            m.config.protocol,
        )

    def _serve(self) -> None:
        decoder = FrameDecoder()
        last_data = time.monotonic()
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master, self._wake_r], [], [], TICK_S)
            if self._wake_r in readable:
                os.read(self._wake_r, 512)
            data = b""
            if self._master in readable:
                try:
                    data = os.read(self._master, 4096)
                except BlockingIOError:
                    pass
                except OSError:  # EIO while the pty is being torn down: do not spin
                    time.sleep(TICK_S)
            with self._cond:
                now = time.monotonic()
                replies: list[Frame] = []
                if data and not self.deaf:
                    last_data = now
                    replies += self._receive(decoder.feed(data), now)
                elif decoder.pending and now - last_data > IDLE_GAP_S:
                    replies += self._receive(decoder.flush_partial(), now)
                replies += self._model.tick(now)
                wire = self._wire(replies)
                changed = self._record(now)
                snapshot = self._snapshot()
                self._cond.notify_all()
            if wire:
                with contextlib.suppress(BlockingIOError):  # nobody reads the slave: the bytes are lost
                    os.write(self._master, wire)
            if changed and self.on_change is not None:
                self.on_change(snapshot)

    def _receive(self, frames: list[Frame], now: float) -> list[Frame]:
        replies: list[Frame] = []
        for frame in frames:
            self.received.append(frame)
            replies += self._model.receive(frame, now)
        return replies

    def _wire(self, frames: list[Frame]) -> bytes:
        if self.silent:
            self._prefix = b""
            return b""
        out = bytearray()
        if frames or self._force_write:
            out += self._prefix
            self._prefix = b""
            self._force_write = False
        for frame in frames:
            raw = bytearray(encode_frame(frame))
            if self.babble or self._corrupt_next > 0:
                self._corrupt_next = max(0, self._corrupt_next - 1)
                raw[-1] ^= 0x5A
            out += raw
        return bytes(out)

    def _record(self, now: float) -> bool:
        """Append to the histories; True when an output (duty, relay, safe state) changed."""
        m = self._model
        if not self.duty_history or self.duty_history[-1][1] != m.duty_permille:
            self.duty_history.append((now, m.duty_permille))
        if not self.relay_history or self.relay_history[-1][1] != m.relay_closed:
            self.relay_history.append((now, m.relay_closed))
        outputs = (m.duty_permille, m.relay_closed, m.safe)
        changed = outputs != self._last_outputs
        self._last_outputs = outputs
        return changed


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m hil.emulators.safety_mcu``."""
    from hil.emulators.safety_mcu_cli import run_cli

    return run_cli(argv)


if __name__ == "__main__":
    raise SystemExit(main())
