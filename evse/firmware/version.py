"""The firmware version the station runs, as BootNotification reports it."""

from __future__ import annotations

import logging

from evse.config import Settings

log = logging.getLogger(__name__)


def with_running_version(settings: Settings) -> Settings:
    """`settings` with station.firmware_version taken from station.firmware_version_file when that file
    exists (the installed image writes it); the configured version stays when it does not."""
    path = settings.station.firmware_version_file
    if path is None:
        return settings
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0].strip()[:50]
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        log.info("firmware version file %s not usable (%s): keeping %s", path, exc, settings.station.firmware_version)
        return settings
    if not first:
        return settings
    return settings.model_copy(update={"station": settings.station.model_copy(update={"firmware_version": first})})
