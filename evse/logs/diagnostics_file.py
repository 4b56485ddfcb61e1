"""The diagnostics log file: every record of the process also goes to ``<state_dir>/evse.log``, bounded.

stderr (journald under systemd) stays the technician's live view; the file is what GetLog DiagnosticsLog
uploads (N01), so it must survive without journald and must never fill the card: it rotates at
``logging.file_max_bytes`` and keeps ``logging.file_count`` older files (``evse.log.1`` is the newest of
those). Each record starts with its UTC time in the OCPP form, which is what GetLog selects by.

Records are handed to a writer thread through a queue: a slow SD card stalls that thread, never the event
loop. Secrets are scrubbed in the writer before the text reaches the disk.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from evse.logs.scrub import Scrubber

FILE_NAME = "evse.log"
#: The format of every record's first line; `evse.logs.selection` parses the time back.
LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _UtcFormatter(logging.Formatter):
    """Time as 2026-12-01T17:40:00.123Z; the text scrubbed of secrets."""

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__(LINE_FORMAT)
        self._scrubber = scrubber

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        return self._scrubber.scrub(super().format(record))


class _CardFile(logging.handlers.RotatingFileHandler):
    """A rotating file that survives its card: a refused write (read-only remount, full disk) drops the
    record with one line on stderr for the whole outage instead of a traceback per record, and closing a
    file the kernel no longer lets us flush does not fail the daemon's shutdown."""

    def __init__(self, path: Path, *, max_bytes: int, count: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=count, encoding="utf-8")
        self._refusing = False

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if self._refusing and self.stream is not None:
            self._refusing = False  # handleError did not run for this record: the card takes writes again
            sys.stderr.write(f"diagnostics log file {self.baseFilename} written again\n")

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)
            return
        if not self._refusing:
            self._refusing = True
            sys.stderr.write(f"diagnostics log file {self.baseFilename} not written, records dropped: {error}\n")
        self._drop_stream()

    def flush(self) -> None:
        try:
            super().flush()
        except OSError:
            self._drop_stream()

    def close(self) -> None:
        try:
            super().close()
        except OSError:
            self._drop_stream()

    def _drop_stream(self) -> None:
        """Forget the broken stream (reopened by the next emit), so its buffer is not flushed again."""
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass  # its unwritten buffer is what the card refused


def log_files(state_dir: Path) -> list[Path]:
    """The diagnostics log files that exist, oldest first (evse.log.N ... evse.log.1, evse.log)."""
    current = state_dir / FILE_NAME
    rotated = [p for p in state_dir.glob(FILE_NAME + ".*") if p.suffix[1:].isdigit()]
    rotated.sort(key=lambda p: int(p.suffix[1:]), reverse=True)
    return [*rotated, *([current] if current.exists() else [])]


class DiagnosticsFile:
    """Attaches the rotating file to the root logger while in use (``with``), detaches it after.

    Attached by the daemon while it runs, so in-process tests that start and stop many daemons leave no
    handler behind. The root level is lowered to ``level`` if it was stricter, and restored after."""

    def __init__(self, state_dir: Path, scrubber: Scrubber, *, max_bytes: int, count: int, level: str = "INFO") -> None:
        self.path = state_dir / FILE_NAME
        self._scrubber = scrubber
        self._max_bytes = max_bytes
        self._count = count
        self._level = logging.getLevelName(level)
        self._listener: logging.handlers.QueueListener | None = None
        self._queue_handler: logging.Handler | None = None
        self._saved_level: int | None = None
        # flush() runs in GetLog's packing thread, __exit__ on the loop: never both on the listener at once.
        self._lock = threading.Lock()

    def __enter__(self) -> DiagnosticsFile:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handler = _CardFile(self.path, max_bytes=self._max_bytes, count=self._count)
        except OSError as exc:
            # A read-only card must not stop the station: it logs to stderr only, and says so there.
            logging.getLogger(__name__).error("diagnostics log file %s unavailable: %s", self.path, exc)
            return self
        handler.setFormatter(_UtcFormatter(self._scrubber))
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._queue_handler = logging.handlers.QueueHandler(records)
        self._queue_handler.setLevel(self._level)
        self._listener = logging.handlers.QueueListener(records, handler)
        self._listener.start()
        root = logging.getLogger()
        self._saved_level = root.level
        if root.level == logging.NOTSET or root.level > self._level:
            root.setLevel(self._level)
        root.addHandler(self._queue_handler)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            if self._listener is None or self._queue_handler is None:
                return
            root = logging.getLogger()
            root.removeHandler(self._queue_handler)
            if self._saved_level is not None:
                root.setLevel(self._saved_level)
            self._listener.stop()  # writes what is queued, then joins the thread
            for handler in self._listener.handlers:
                handler.close()
            self._listener = None
            self._queue_handler = None

    def flush(self) -> None:
        """Write what is queued so far (before GetLog reads the files). Cheap: the thread is restarted."""
        with self._lock:
            if self._listener is not None:
                self._listener.stop()
                self._listener.start()
