"""The configuration file as the page edits it: read, checked exactly like `evse check-config`, and replaced
(atomically, the previous one kept as ``.bak``) only when the check passes."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evse.config_check import check_config
from evse.errors import EvseError
from evse.web.yaml_lines import error_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckedText:
    """An uploaded text and what check-config says about it; each error with the line it names (or None)."""

    text: str
    errors: list[tuple[int | None, str]]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "errors": [{"line": line, "message": message} for line, message in self.errors]}


class ConfigFile:
    """The YAML file the daemon was started with (`evse run --config`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def backup(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def check(self, text: str) -> CheckedText:
        """What `evse check-config` would print for `text` standing in for the file (runs in a thread: it
        reads definitions and TLS files)."""
        try:
            result = check_config(self.path, text)
            errors = result.errors
        except EvseError as exc:  # what the CLI lets through (exit 1) is still one line for the page
            errors = [str(exc)]
        return CheckedText(text, [(error_line(error, str(self.path), text), error) for error in errors])

    def replace(self, checked: CheckedText, who: str) -> None:
        """Write a checked text in place of the file: the old one copied to .bak, the new one written to a
        temporary file, synced and renamed over it, so a power cut leaves one or the other, never half."""
        if not checked.ok:
            raise ValueError("only a text check-config accepts replaces the configuration")
        if self.path.exists():
            shutil.copy2(self.path, self.backup)
        temporary = self.path.with_name(f".{self.path.name}.new")
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o640
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(checked.text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
        log.warning("configuration %s replaced by %s (previous kept as %s)", self.path, who, self.backup)
