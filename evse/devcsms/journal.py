"""The development CSMS's memory: every frame in order, finished exchanges, and waits on them.

Tests observe the station only through this journal, so it is written for them: waits have a
cursor (each received CALL is handed out once), and a wait that times out says what *did* arrive.
Humans get the same frames as one log line each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from evse.clock import Clock
from evse.devcsms.frames import (
    Direction,
    Frame,
    InboundCall,
    InvalidStationMessage,
    MessageType,
    parse_frame,
)

_log = logging.getLogger("evse.devcsms")

T = TypeVar("T")

PayloadPredicate = Callable[[dict[str, Any]], bool]

# How many recent calls a timeout message lists: enough to see what the station did instead,
# short enough to read in a pytest report.
_DESCRIBE_LAST = 25


class Signal:
    """Wakes every waiter whenever the journal or the set of connections changed.

    Callers re-check their own condition after each wake-up, so one signal serves every kind of
    wait and notification stays synchronous (frames are recorded from non-async code paths).
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_until(self, find: Callable[[], T | None]) -> T:
        """Return the first non-None result of ``find``; callers bound it with asyncio.timeout."""
        while True:
            found = find()
            if found is not None:
                return found
            # No await between find() and taking the current event, so no wake-up is lost.
            await self._event.wait()


class Journal:
    """Frames in and out of every station, with the bookkeeping the waits need."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.signal = Signal()
        self.frames: list[Frame] = []
        self.calls: list[InboundCall] = []
        self.failures: list[str] = []
        # (station, unique id) -> action of a CALL still waiting for its answer, in either
        # direction: it names the answers in the log and exposes responses nobody asked for.
        self._pending: dict[tuple[str, str], str] = {}
        self._raw_cursor: dict[str, int] = {}

    def record(self, station: str, direction: Direction, raw: str) -> Frame:
        """Append one text frame to the journal, log it, and wake waiters."""
        parsed = parse_frame(raw)
        action = parsed.action if parsed else None
        if parsed is not None and parsed.message_type is MessageType.CALL:
            self._pending[(station, parsed.unique_id)] = parsed.action or "?"
        elif parsed is not None:
            action = self._pending.pop((station, parsed.unique_id), None)
            if action is None and direction is Direction.RECEIVED:
                self.fail(station, f"answer to unknown message id {parsed.unique_id!r}: {raw}")
        frame = Frame(
            seq=len(self.frames),
            station=station,
            direction=direction,
            raw=raw,
            at=self._clock.now(),
            monotonic=self._clock.monotonic(),
            message_type=parsed.message_type if parsed else None,
            unique_id=parsed.unique_id if parsed else None,
            action=action,
            payload=parsed.payload if parsed else {},
            error_code=parsed.error_code if parsed else None,
            error_description=parsed.error_description if parsed else None,
        )
        self.frames.append(frame)
        _log.info("csms %s %s", station, frame.summary())
        if parsed is None and direction is Direction.RECEIVED:
            self.fail(station, f"received a frame that is not OCPP-J: {raw!r}")
        self.signal.notify()
        return frame

    def fail(self, station: str, text: str) -> None:
        """Remember something the station did wrong; tests check ``failures`` at the end."""
        message = f"{station}: {text}"
        self.failures.append(message)
        _log.warning("csms %s", message)

    def complete_call(self, request: Frame, response: Frame | None, *, scripted_error: bool) -> InboundCall:
        """A received CALL has been answered (or dropped); make it visible to ``wait_for``."""
        call = InboundCall(request, response, scripted_error=scripted_error)
        self.calls.append(call)
        if call.invalid:
            self.fail(request.station, f"rejected {call.describe()}")
        self.signal.notify()
        return call

    async def wait_for_call(
        self,
        action: str,
        *,
        station: str | None,
        predicate: PayloadPredicate | None,
        allow_invalid: bool,
    ) -> InboundCall:
        """The first received, not yet consumed CALL that matches; it is consumed."""

        def find() -> InboundCall | None:
            for call in self.calls:
                request = call.request
                if call.consumed or request.action != action:
                    continue
                if station is not None and request.station != station:
                    continue
                # An invalid message is reported even when the predicate would not match it:
                # the predicate was written for valid payloads and may not even apply.
                if call.invalid and not allow_invalid:
                    return call
                if predicate is None or predicate(request.payload):
                    return call
            return None

        call = await self.signal.wait_until(find)
        call.consumed = True
        if call.invalid and not allow_invalid:
            raise InvalidStationMessage(f"station sent an invalid message: {call.describe()}: {call.request.raw}")
        return call

    def received(self, action: str | None, station: str | None) -> list[dict[str, Any]]:
        """Payloads of all received CALLs that match, consumed or not, oldest first."""
        return [
            call.request.payload
            for call in self.calls
            if (action is None or call.request.action == action)
            and (station is None or call.request.station == station)
        ]

    def skip(self, action: str | None, station: str | None) -> int:
        """Consume every matching CALL received so far; returns how many were skipped."""
        count = 0
        for call in self.calls:
            if call.consumed or (action is not None and call.request.action != action):
                continue
            if station is not None and call.request.station != station:
                continue
            call.consumed = True
            count += 1
        return count

    def mark_raw(self, station: str) -> None:
        """Make ``next_raw`` ignore every frame received from ``station`` until now."""
        self._raw_cursor[station] = len(self.frames)

    async def next_raw(self, station: str) -> str:
        """The first frame received from ``station`` past its raw cursor; advances the cursor."""

        def find() -> Frame | None:
            for frame in self.frames[self._raw_cursor.get(station, 0) :]:
                if frame.station == station and frame.direction is Direction.RECEIVED:
                    return frame
            return None

        frame = await self.signal.wait_until(find)
        self._raw_cursor[station] = frame.seq + 1
        return frame.raw

    def describe_miss(
        self, action: str, station: str | None, predicate: PayloadPredicate | None, timeout: float
    ) -> str:
        """The message of wait_for's TimeoutError: what was expected and what came instead."""
        source = f" from {station}" if station else ""
        condition = " matching the predicate" if predicate else ""
        lines = [f"no unconsumed {action}{source}{condition} within {timeout}s; received:"]
        lines += [f"  {call.describe()}" for call in self.calls[-_DESCRIBE_LAST:]]
        if not self.calls:
            lines.append("  (no CALL at all)")
        if self.failures:
            lines.append("failures: " + "; ".join(self.failures))
        return "\n".join(lines)
