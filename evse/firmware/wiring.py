"""The firmware updater as the daemon builds it from the settings (L01/L02): the installer the YAML names,
the manufacturer roots (installed and factory) and the roots an https download is checked against."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from evse.clock import Clock
from evse.config import Settings
from evse.firmware.installers import make_installer
from evse.firmware.job_store import JobStore
from evse.firmware.updater import FirmwareUpdater
from evse.security.events import SecurityEvents
from evse.security_wiring import installed_csms_roots
from evse.station.shell.station import Station

log = logging.getLogger(__name__)


def build_updater(
    settings: Settings, jobs: JobStore, station: Station, security: SecurityEvents, clock: Clock
) -> FirmwareUpdater:
    """L01/L02: the installer the YAML names, manufacturer roots (installed and factory) and the TLS roots
    an https download is checked against (the CSMS roots the station trusts)."""
    from evse.security.tls import transfer_context

    def manufacturer_roots() -> list[Path]:
        from evse.security.cert_store import CertificateStore, CertificateUse

        installed = CertificateStore(settings.state_dir).directory(CertificateUse.MANUFACTURER_ROOT)
        return [installed, *([settings.firmware.factory_root] if settings.firmware.factory_root else [])]

    def tls_context() -> ssl.SSLContext:
        return transfer_context(settings.csms.ca_file, installed_csms_roots(settings.state_dir))

    return FirmwareUpdater(
        station,
        jobs,
        make_installer(settings),
        security,
        clock,
        image_dir=settings.state_dir / "firmware",
        max_image_bytes=settings.firmware.max_image_bytes,
        manufacturer_roots=manufacturer_roots,
        tls_context=tls_context,
    )
