"""The log parts of one station, built from its settings: the diagnostics file, the scrubber that keeps
the station's secrets out of it, and the GetLog jobs (the daemon attaches the first and runs the last)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evse.clock import Clock
from evse.config import Settings
from evse.devicemodel.model import DeviceModel, VariableChange
from evse.logs.diagnostics_file import DiagnosticsFile
from evse.logs.retrieval import LogRetrieval, LogSources
from evse.logs.scrub import Scrubber
from evse.ocpp.v201 import messages as m
from evse.security.security_log import SecurityLog

KEY_STORE_DIR = "keys"  # evse.security.keys.FileKeyStore's directory (not imported: it loads cryptography)


@dataclass
class StationLogs:
    """What the daemon holds of the logs."""

    scrubber: Scrubber
    diagnostics_file: DiagnosticsFile
    retrieval: LogRetrieval


def build_station_logs(
    settings: Settings,
    dm: DeviceModel,
    security_log: SecurityLog,
    send: Callable[[m.LogStatusNotificationRequest], None],
    clock: Clock,
    installed_roots: Callable[[], Path],
) -> StationLogs:
    """`installed_roots` gives the directory of the installed CSMS roots (asked only for an https upload)."""
    csms = settings.csms
    scrubber = Scrubber()

    def refresh(scrubber: Scrubber) -> None:
        if csms.basic_auth_password is not None:
            scrubber.remember(csms.basic_auth_password.get_secret_value())
        scrubber.remember(dm.basic_auth_password())
        keys = [settings.state_dir / KEY_STORE_DIR, *([csms.client_key] if csms.client_key else [])]
        scrubber.remember_key_files(*keys)

    def on_change(change: VariableChange) -> None:
        if change.address.variable.name == "BasicAuthPassword":
            scrubber.remember(change.new_value)

    refresh(scrubber)
    dm.on_change(on_change)
    diagnostics = DiagnosticsFile(
        settings.state_dir,
        scrubber,
        max_bytes=settings.logging.file_max_bytes,
        count=settings.logging.file_count,
        level=settings.log_level,
    )

    def tls() -> ssl.SSLContext:
        from evse.security.tls import transfer_context

        return transfer_context(csms.ca_file, installed_roots())

    retrieval = LogRetrieval(
        settings.station.id,
        LogSources(settings.state_dir, security_log, diagnostics),
        scrubber,
        send,
        clock,
        tls=tls,
        refresh_secrets=refresh,
    )
    return StationLogs(scrubber, diagnostics, retrieval)
