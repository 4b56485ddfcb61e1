"""`evse check-config` for the firmware section: what would make every update fail, found before one is sent.

One line per problem, naming the key: the factory root must be a readable PEM certificate, and the installer's
program must exist and be executable (rauc and swupdate on PATH, the command as given)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from evse.config import Settings


def firmware_problems(settings: Settings) -> list[str]:
    """`key: problem` lines; empty when the section looks usable."""
    section = settings.firmware
    problems: list[str] = []
    if section.factory_root is not None:
        problems += _root_problems(section.factory_root)
    program = {"rauc": "rauc", "swupdate": "swupdate"}.get(section.installer)
    if section.installer == "command" and section.command:
        program = section.command[0]
    if program is not None:
        found = shutil.which(program) if os.sep not in program else (program if os.access(program, os.X_OK) else None)
        if found is None:
            key = "firmware.command" if section.installer == "command" else "firmware.installer"
            problems.append(f"{key}: {program}: not found or not executable")
    return problems


def _root_problems(path: Path) -> list[str]:
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        return [f"firmware.factory_root: {path}: cannot read: {exc.strerror}"]
    except ValueError:
        return [f"firmware.factory_root: {path}: not a PEM certificate"]
    return []
