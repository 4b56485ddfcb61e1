"""The security log (OCPP 2.0.1 A04): one JSON line per security event, in state_dir, bounded by rotation.

Two files at most: ``security.log`` and ``security.log.1``; when the next line would take the current file
past its bound, it replaces the older one. So the log never fills the card, and the newest events are kept.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024


class SecurityLog:
    """Appends security events as JSON lines to ``path``, rotating to ``path.1`` at ``max_bytes``."""

    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes

    @property
    def rotated(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record. A disk that refuses is logged, never raised: a security event must not stop
        charging, and critical events also travel through the durable outbox."""
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        try:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size and size + len(line) > self.max_bytes:
                os.replace(self.path, self.rotated)
            # A few hundred bytes per (rare) event: written on the loop like the outbox's own writes.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "ab") as file:
                file.write(line)
        except OSError as exc:
            log.error("security log %s not written: %s", self.path, exc)

    def records(self) -> list[dict[str, Any]]:
        """Every record still kept, oldest first (for GetLog SecurityLog and technicians)."""
        found: list[dict[str, Any]] = []
        for path in (self.rotated, self.path):
            if path.exists():
                found.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
        return found
