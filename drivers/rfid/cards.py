"""When a card counts as presented again, and how a card UID may appear in logs.

A reader sees a card held on it at every poll; the station must see one presentation. Both rules
here are pure so they are tested without a reader.
"""

from __future__ import annotations

from collections.abc import Callable


def shorten_uid(token: str) -> str:
    """A UID reduced to its first and last byte (``04A2B3C4`` -> ``04..C4``) for INFO logs.

    A full UID identifies a person's card; the shortened form still lets a technician match a
    log line to the card in hand.
    """
    if len(token) <= 4:
        return "..."
    return f"{token[:2]}..{token[-2:]}"


class PolledPresence:
    """Presentations seen by a polling reader (PN532): a UID is reported when it appears, and the
    same UID again only after the reader saw no card for ``absent_polls`` consecutive polls.

    A different UID is a new presentation at once. A single missed poll (the card at the edge of
    the field) does not make a second presentation.
    """

    def __init__(self, absent_polls: int) -> None:
        if absent_polls < 1:
            raise ValueError("absent_polls must be at least 1")
        self._absent_polls = absent_polls
        self._current: bytes | None = None
        self._absent = 0

    def observe(self, uid: bytes | None) -> bytes | None:
        """Take one poll's result (None: no card); return the UID when it is a new presentation."""
        if uid is None:
            self._absent += 1
            if self._absent >= self._absent_polls:
                self._current = None
            return None
        self._absent = 0
        if uid == self._current:
            return None
        self._current = uid
        return uid


class TimedDedupe:
    """Presentations seen by a reader that pushes UIDs (serial line readers): a UID seen again
    within ``window_s`` of the last time it was seen is the same presentation.

    Many such readers repeat the line while the card is held, so the window restarts at every
    sighting rather than at the report.
    """

    def __init__(self, window_s: float, clock: Callable[[], float]) -> None:
        self._window_s = window_s
        self._clock = clock
        self._last_seen: dict[str, float] = {}

    def is_new(self, token: str) -> bool:
        now = self._clock()
        last = self._last_seen.get(token)
        # Forget stale entries so a reader in a busy place does not grow this without bound.
        self._last_seen = {t: seen for t, seen in self._last_seen.items() if now - seen < self._window_s}
        self._last_seen[token] = now
        return last is None or now - last >= self._window_s
