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

from evse.ocpp.handlers.data_transfer import VendorRegistry
from evse.ocpp.rpc import CallSender, Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.configuration_view import ConfigurationChange
from evse.ocpp.v16.handlers import configuration, core, local_list, reservation, smart_charging
from evse.ocpp.v16.sender import V16Sender
from evse.ocpp.v16.tx_ids import TxIds
from evse.station.core.evse_status import EvseStatus
from evse.station.shell.fine_status import FineStatus
from evse.station.shell.station import Station
from evse.station.shell.tx_journal import TxJournal

#: The 1.6 feature profiles whose handlers `register` installs (SupportedFeatureProfiles).
PROFILES = ["Core", "RemoteTrigger", "LocalAuthListManagement", "Reservation", "SmartCharging"]


@dataclass
class Adapter16:
    sender: V16Sender
    tx_ids: TxIds


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
    core.register(router, station, adapter.tx_ids, vendors, triggers=triggers)
    local_list.register(router, station.authorizer)
    smart_charging.register(router, station, adapter.tx_ids)
    if station.reservations is not None:  # the daemon always builds it; a bare Station in a test may not
        reservation.register(router, station, station.reservations)

    def after_set(change: ConfigurationChange) -> Callable[[], Awaitable[None]] | None:
        if change.key == "AuthorizationKey":  # whitepaper A01: reconnect with it once the answer has left
            return lambda: reconnect("new AuthorizationKey")
        return None

    configuration.register(router, station.dm, after_set=after_set, profiles=PROFILES)
