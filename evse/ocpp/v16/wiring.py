"""The OCPP 1.6 adapter put together: what `evse.daemon.build` does differently when `csms.ocpp_version: "1.6"`.

The station, its drivers, journal and outbox are the same objects as under 2.0.1. The adapter (1) says the
station's CALLs in 1.6 (`V16Sender`, handed to the station and registrar in place of the connection),
(2) reports the finer 1.6 connector status (`FineStatus` -> StatusNotification.req), and (3) registers the
1.6 handlers on the router, each on the station's own commands.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evse.firmware.updater import FirmwareUpdater
from evse.logs.retrieval import LogRetrieval
from evse.ocpp.calls import CallSender
from evse.ocpp.rpc import Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.configuration_view import ConfigurationChange
from evse.ocpp.v16.handlers import configuration, core, local_list, reservation, smart_charging
from evse.ocpp.v16.handlers import firmware as firmware16
from evse.ocpp.v16.handlers import security as security16
from evse.ocpp.v16.handlers.services import ServiceHandlers
from evse.ocpp.v16.security_upgrade import SecurityProfileUpgrade
from evse.ocpp.v16.sender import V16Sender
from evse.ocpp.v16.tx_ids import TxIds
from evse.ocpp.v201.handlers.data_transfer import VendorRegistry
from evse.station.core.evse_status import EvseStatus
from evse.station.shell.fine_status import FineStatus
from evse.station.shell.station import Station
from evse.station.shell.tx_journal import TxJournal

if TYPE_CHECKING:
    from evse.security.events import SecurityEvents
    from evse.security.station_certificate import StationCertificate
    from evse.station.shell.v2g_certificates import V2gCertificates

#: The 1.6 feature profiles whose handlers `register` installs (SupportedFeatureProfiles).
PROFILES = ["Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation", "SmartCharging", "RemoteTrigger"]


@dataclass
class Adapter16:
    sender: V16Sender
    tx_ids: TxIds


@dataclass
class Services16:
    """The station's services the Firmware Management profile and the security whitepaper handlers use
    (the same objects the 2.0.1 handlers are built on)."""

    updater: FirmwareUpdater
    retrieval: LogRetrieval
    security: SecurityEvents
    own_certificate: Callable[[], StationCertificate]
    #: The CSMS signed the station's certificate (ends the SignCertificate series, A02).
    certificate_signed: Callable[[], None]
    #: A new SignCertificate series (ExtendedTriggerMessage SignChargePointCertificate).
    sign_certificate: Callable[[], Awaitable[None]]
    #: The ISO 15118 modules' certificates (Plug & Charge whitepaper); None on a station without a module.
    v2g: V2gCertificates | None = None


def build_sender(
    connection: CallSender,
    db: sqlite3.Connection,
    tx_journal: TxJournal,
    transaction_on: Callable[[int], str | None],
) -> Adapter16:
    tx_ids = TxIds(db)
    sender = V16Sender(
        connection,
        tx_ids,
        start_energy_wh=tx_journal.start_energy,
        start_id_tag=tx_journal.start_token,
        transaction_on=transaction_on,
    )
    return Adapter16(sender, tx_ids)


def attach(
    router: Router,
    station: Station,
    adapter: Adapter16,
    *,
    vendors: VendorRegistry,
    reconnect: Callable[[str], Awaitable[None]],
    triggers: dict[str, Callable[[], Awaitable[None]]] | None = None,
    services: Services16 | None = None,
    security_upgrade: SecurityProfileUpgrade | None = None,
) -> None:
    def report(connector_id: int, status: EvseStatus, error_code: str, vendor_error_code: str | None) -> None:
        request = m16.StatusNotificationRequest(
            connectorId=connector_id,
            errorCode=m16.ChargePointErrorCode(error_code),
            status=m16.ChargePointStatus(status.value),
            timestamp=station.clock.now(),
            vendorErrorCode=vendor_error_code,
        )
        station.messages.enqueue(request, protocol="1.6")

    station.fine_status = FineStatus(station, report)
    jobs = dict(triggers or {})
    if services is not None:
        jobs |= _attach_services(router, station, services, vendors)
    core.register(router, station, adapter.tx_ids, vendors, triggers=jobs)
    local_list.register(router, station.authorizer)
    smart_charging.register(router, station, adapter.tx_ids)
    if station.reservations is not None:  # the daemon always builds it; a bare Station in a test may not
        reservation.register(router, station, station.reservations)

    def after_set(change: ConfigurationChange) -> Callable[[], Awaitable[None]] | None:
        if change.key == "AuthorizationKey":  # whitepaper A01: reconnect with it once the answer has left
            return lambda: reconnect("new AuthorizationKey")
        if change.key == "SecurityProfile" and security_upgrade is not None:
            return _raise_profile(security_upgrade, int(change.value), reconnect)
        return None

    configuration.register(router, station.dm, after_set=after_set, profiles=PROFILES)


def _raise_profile(
    upgrade: SecurityProfileUpgrade, security_profile: int, reconnect: Callable[[str], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    """Whitepaper A05: once the answer has left, reconnect with the new profile (recorded when it comes up)."""

    async def raise_profile() -> None:
        upgrade.request(security_profile)
        await reconnect(f"security profile {security_profile} asked for")

    return raise_profile


def _attach_services(
    router: Router, station: Station, services: Services16, vendors: VendorRegistry
) -> dict[str, Callable[[], Awaitable[None]]]:
    """Firmware Management, the security whitepaper and the Plug & Charge whitepaper: their handlers, on a
    private router of the 2.0.1 handlers of the same services; returns the Firmware Management
    TriggerMessage jobs."""
    from evse import security_wiring
    from evse.ocpp.v16 import pnc
    from evse.ocpp.v201.handlers import firmware, logs

    inner = Router()
    # 1.6's UpdateFirmware carries no signature (it is run as L02); SignedUpdateFirmware always has one.
    firmware.register(inner, services.updater, services.security, allow_unsigned=True)
    logs.register(inner, services.retrieval)
    security_wiring.register_certificates(
        inner,
        station.settings,
        station.dm,
        station.clock,
        station,
        services.own_certificate,
        services.certificate_signed,
        services.v2g,
    )
    pnc.register_trigger(inner, services.v2g.request_csrs if services.v2g is not None else None)
    vendors.add(pnc.VENDOR_ID, pnc.PncDataTransfer(inner))
    asked = ServiceHandlers(inner)

    async def send(request: m16.OcppRequest) -> None:
        await station.call_direct(request, m16.RESPONSES[request.ACTION])

    firmware16.register(router, asked)
    security16.register(router, asked, services.security)
    security16.register_extended_trigger(
        router, station, services.updater, services.retrieval, send, services.sign_certificate
    )
    return firmware16.triggers(services.updater, services.retrieval, send)
