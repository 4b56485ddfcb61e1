"""The last log lines for the web page: a bounded handler on the root logger, scrubbed of secrets."""

from __future__ import annotations

import collections
import logging
import threading
import time

from evse.logs.scrub import Scrubber


class LogRing(logging.Handler):
    """Keeps the last `size` formatted records; each line is scrubbed before it is kept, so a password
    logged by mistake never reaches a browser."""

    def __init__(self, scrubber: Scrubber, size: int = 200) -> None:
        super().__init__(level=logging.INFO)
        self._scrubber = scrubber
        self._lines: collections.deque[tuple[int, str]] = collections.deque(maxlen=size)
        self._next = 0
        self._guard = threading.Lock()  # records also arrive from worker threads (to_thread, drivers)
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        formatter.converter = time.gmtime  # UTC, like every timestamp the station reports
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self._scrubber.scrub(self.format(record))
        except Exception:  # a broken record must not break the logging of the rest of the daemon
            self.handleError(record)
            return
        with self._guard:
            self._lines.append((self._next, line))
            self._next += 1

    def lines(self) -> list[str]:
        with self._guard:
            return [line for _, line in self._lines]
