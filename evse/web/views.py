"""What the page shows, as JSON-ready data read from the running daemon (no I/O but the certificate files)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from evse.devicemodel.definitions import AttributeAddress

if TYPE_CHECKING:
    from evse.daemon import Daemon

#: Rows of the device-model view per answer: a search narrows it, the page says when rows were left off.
MAX_ROWS = 400


def connection_view(daemon: Daemon) -> dict[str, Any]:
    csms = daemon.settings.csms
    since = daemon.connection.connected_since
    return {
        "url": csms.url,
        "ocpp_version": csms.ocpp_version,
        "security_profile": csms.security_profile,
        "connected": daemon.connection.is_connected,
        "connected_since": since.strftime("%Y-%m-%dT%H:%M:%SZ") if since is not None else None,
        "registration": daemon.station.registrar.state.value,
        "queued_messages": len(daemon.station.outbox),
    }


def station_view(daemon: Daemon) -> dict[str, Any]:
    station = daemon.settings.station
    return {
        "id": station.id,
        "vendor": station.vendor,
        "model": station.model,
        "serial": station.serial,
        "firmware_version": station.firmware_version,
        "simulated": daemon.board is not None,
    }


def evses_view(daemon: Daemon) -> list[dict[str, Any]]:
    evses: list[dict[str, Any]] = daemon.station.snapshot()["evses"]
    return evses


def external_limits_view(daemon: Daemon) -> list[dict[str, Any]]:
    return [dataclasses.asdict(limit) for limit in daemon.station.external_limits.in_force()]


def certificates_view(daemon: Daemon) -> list[dict[str, Any]]:
    """`evse certs list --json`'s rows (reads and parses the files: called from a thread, cached)."""
    from evse.security.cert_listing import certificate_rows
    from evse.security.cert_store import CertificateStore

    return certificate_rows(CertificateStore(daemon.settings.state_dir), datetime.now(UTC))


def device_model_rows(daemon: Daemon, query: str) -> tuple[list[dict[str, Any]], int]:
    """Every attribute whose component, variable or value contains `query` (any case), at most MAX_ROWS,
    and how many matched. A WriteOnly value (BasicAuthPassword ...) is never shown, as OCPP never reports it."""
    wanted = query.strip().lower()
    rows: list[dict[str, Any]] = []
    matched = 0
    dm = daemon.dm
    for definition in dm.definitions():
        for attribute in definition.attributes:
            address = AttributeAddress(definition.component, definition.variable, attribute.type)
            value = dm.reported_value(address, attribute)
            component, variable = str(definition.component), str(definition.variable)
            text = f"{component} {variable} {value or ''}".lower()
            if wanted and wanted not in text:
                continue
            matched += 1
            if len(rows) < MAX_ROWS:
                rows.append(
                    {
                        "component": component,
                        "variable": variable,
                        "attribute": attribute.type.value,
                        "value": value if attribute.readable else None,
                        "mutability": attribute.mutability.value,
                    }
                )
    return rows, matched
