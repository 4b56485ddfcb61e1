"""How the daemon wires the security parts (issue 9): the station certificate's requests (A02/A03) and
handlers (M03-M05, loaded on first use), what TLS profiles need before a slot may use them (A05), the
reconnect after a new BasicAuthPassword (A01), and the report of refused connections (A04).

Kept apart from evse/daemon.py so that file stays the map of the whole station; `cryptography` is still
imported only inside the functions that need X.509.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evse.clock import Clock
from evse.config import Settings
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.operations import SetVariableResult, SetVariableStatus
from evse.ocpp.connection import CsmsConnection
from evse.ocpp.network_slots import NetworkSlots
from evse.ocpp.rpc import Router
from evse.ocpp.signing_requests import SigningRequests
from evse.ocpp.v201.handlers import device_model as device_model_handlers
from evse.security.events import SecurityEvents
from evse.security.paths import station_chain_path
from evse.station.shell.station import Station
from evse.station.shell.v2g_certificates import V2gCertificates

if TYPE_CHECKING:
    from evse.security.station_certificate import StationCertificate

log = logging.getLogger(__name__)


def reconnect_on_new_password(connection: CsmsConnection, slots: NetworkSlots) -> device_model_handlers.AfterSet:
    """A01: once the SetVariablesResponse accepting a new BasicAuthPassword has left, reconnect with it, so
    the CSMS sees at once whether it works (profiles 1 and 2; profile 3 sends no password)."""

    def after_set(results: Sequence[SetVariableResult]) -> Callable[[], Awaitable[None]] | None:
        if slots.attempting is not None and slots.attempting[1] >= 3:
            return None
        for result in results:
            if (
                result.status is SetVariableStatus.ACCEPTED
                and result.component.name.lower() == "securityctrlr"
                and result.variable.name.lower() == "basicauthpassword"
            ):
                return lambda: connection.reconnect("new BasicAuthPassword")
        return None

    return after_set


def tls_readiness(
    settings: Settings, clock: Clock, own_certificate: Callable[[], StationCertificate]
) -> tuple[Callable[[], bool], Callable[[], bool]]:
    """(a valid CSMS root is installed, a valid ChargingStationCertificate is installed): what security
    profiles 2 and 3 need before a slot may use them (A05.FR.02/03). X.509 loads only when asked."""

    def csms_root() -> bool:
        from evse.security.tls import csms_root_files
        from evse.security.tls_files import valid_certificate_in

        roots = csms_root_files(settings.csms.ca_file, installed_csms_roots(settings.state_dir))
        return valid_certificate_in(roots, clock.now())

    def station_certificate() -> bool:
        from evse.security.tls_files import valid_certificate_in

        now = clock.now()
        leaf = own_certificate().certificate()
        if leaf is not None and leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return True
        client_cert = settings.csms.client_cert
        return client_cert is not None and valid_certificate_in([client_cert], now)

    return csms_root, station_certificate


def report_connection_refusals(connection: CsmsConnection, security: SecurityEvents) -> None:
    """A04: the failures of the attempts before this connection, reported once it exists (critical ones
    then reach the CSMS through the outbox); the last TLS failure stands for the series."""
    failure = connection.take_tls_failure()
    if failure is not None and failure.failure.security_event is not None:
        security.report(failure.failure.security_event, str(failure))
    if connection.take_auth_refusal():
        security.report("FailedToAuthenticateAtCsms", "CSMS answered HTTP 401 to the station's credentials")


def installed_csms_roots(state_dir: Path) -> Path:
    """Where InstallCertificate puts CSMS roots (the store owns the layout; X.509 loads only with TLS)."""
    from evse.security.cert_store import CertificateStore, CertificateUse

    return CertificateStore(state_dir).directory(CertificateUse.CSMS_ROOT)


def signing_requests(
    settings: Settings,
    dm: DeviceModel,
    clock: Clock,
    own_certificate: Callable[[], StationCertificate],
    station: Station,
) -> SigningRequests:
    """A02 (trigger, retries) and A03 (renewal) of the ChargingStationCertificate; X.509 loads only when a
    station certificate exists or a request is made."""

    async def send() -> bool | None:
        from evse.ocpp.v201.handlers import station_certificate

        return await station_certificate.send_sign_request(
            settings.station.id, dm, own_certificate(), station.call_direct
        )

    def expiry() -> datetime.datetime | None:
        client_cert = settings.csms.client_cert
        if client_cert is None and not station_chain_path(settings.state_dir).exists():
            return None
        from evse.security.tls_files import leaf_expiry

        leaf = own_certificate().certificate()
        if leaf is not None:
            return leaf.not_valid_after_utc
        return leaf_expiry(client_cert) if client_cert is not None else None

    return SigningRequests(
        send,
        online=station.is_online,
        wait_minimum=lambda: dm.get_int("SecurityCtrlr", "CertSigningWaitMinimum"),
        repeat_times=lambda: dm.get_int("SecurityCtrlr", "CertSigningRepeatTimes"),
        expiry=expiry,
        renew_before=lambda: datetime.timedelta(days=dm.get_int("EvseStackCtrlr", "CertificateRenewalDays")),
        clock=clock,
    )


def register_certificates(
    router: Router,
    settings: Settings,
    dm: DeviceModel,
    clock: Clock,
    station: Station,
    own_certificate: Callable[[], StationCertificate],
    signed: Callable[[], None],
    v2g: V2gCertificates | None = None,
) -> None:
    """M03-M05 and A02's CertificateSigned, loaded on first use: they need cryptography's X.509 (~11 MiB
    resident), which a station that is never asked about certificates should not carry (make bench)."""
    from evse.ocpp.v201 import messages as m

    actions = (
        m.InstallCertificateRequest,
        m.GetInstalledCertificateIdsRequest,
        m.DeleteCertificateRequest,
        m.CertificateSignedRequest,
    )
    loaded = Router()

    def load() -> Router:
        if not loaded.actions:
            from cryptography import x509

            from evse.ocpp.v201.handlers import certificates, station_certificate
            from evse.security.cert_store import CertificateStore, CertificateUse
            from evse.security.tls import csms_root_files

            store = CertificateStore(settings.state_dir)
            factory_certificate = certificates.client_certificate(settings.csms.client_cert)

            def own_certificates() -> list[x509.Certificate]:
                stored = own_certificate().certificate()
                return factory_certificate() + ([stored] if stored is not None else [])

            def csms_roots() -> list[x509.Certificate]:
                roots: list[x509.Certificate] = []
                for path in csms_root_files(settings.csms.ca_file, store.directory(CertificateUse.CSMS_ROOT)):
                    try:
                        roots += x509.load_pem_x509_certificates(path.read_bytes())
                    except (OSError, ValueError) as exc:
                        log.warning("csms root unreadable path=%s: %s", path, exc)
                return roots

            from evse.security.v2g_chain import V2gChainStore

            certificates.register(
                loaded,
                store,
                dm,
                clock,
                own_certificates=own_certificates,
                v2g_chains=V2gChainStore(settings.state_dir).chains,
                on_roots_changed=v2g.forward_roots if v2g is not None else None,
            )
            station_certificate.register(
                loaded,
                own_certificate(),
                csms_roots,
                clock,
                station.call_direct,
                on_accepted=signed,
                v2g_signed=v2g.certificate_signed if v2g is not None else None,
            )
        return loaded

    def forward(action: str) -> Callable[[Any], Coroutine[Any, Any, Any]]:
        async def handler(request: Any) -> Any:
            found = load().lookup(action)
            assert found is not None
            return await found[1](request)

        return handler

    for request_type in actions:
        router.register(request_type, forward(request_type.ACTION))

    def certificate_entries() -> str:
        from evse.security.cert_store import CertificateStore

        return str(CertificateStore(settings.state_dir).count())

    dm.register_live_value("SecurityCtrlr", "CertificateEntries", certificate_entries)
