"""The file GetLog uploads: a tar.gz of the selected entries, scrubbed, built on disk (not in memory).

tar.gz rather than zip: the stdlib writes it streaming, every CSMS operator's shell unpacks it, and the
members keep their modification time. Each member is first written as plain text next to the archive
(tar needs its size up front), so memory stays flat however large the logs are. Blocking: run it in a
thread.
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evse.logs.scrub import Scrubber
from evse.logs.selection import line_time


def pack(archive: Path, members: dict[str, Iterable[str]], scrubber: Scrubber) -> Path:
    """Write `archive` (tar.gz) with one member per name, each the scrubbed concatenation of its lines."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, lines in members.items():
            part = archive.with_name(f".{archive.name}.{name}")
            with part.open("w", encoding="utf-8", newline="") as out:
                # Scrubbed per record as well as per line: a PEM block spans lines.
                for record in _records(lines):
                    out.write(scrubber.scrub(record))
            staged.append((name, part))
        with tarfile.open(archive, "w:gz") as tar:
            for name, part in staged:
                info = tar.gettarinfo(str(part), arcname=name)
                info.mtime = int(time.time())
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o644
                with part.open("rb") as data:
                    tar.addfile(info, data)
    finally:
        for _, part in staged:
            part.unlink(missing_ok=True)
    return archive


def json_lines(records: Iterable[dict[str, Any]]) -> Iterable[str]:
    """Security log records back as the JSON lines they were written as."""
    for record in records:
        yield json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def _records(lines: Iterable[str]) -> Iterable[str]:
    """Lines grouped into records: a stamped line (or a JSON line of the security log) and the unstamped
    lines that continue it."""
    pending: list[str] = []
    for line in lines:
        if pending and (line.startswith("{") or line_time(line) is not None):
            yield "".join(pending)
            pending = []
        pending.append(line if line.endswith("\n") else line + "\n")
    if pending:
        yield "".join(pending)
