"""InstallCertificate (M05), GetInstalledCertificateIds (M03) and DeleteCertificate (M04): the CA
certificates of evse.security.cert_store over OCPP.

File I/O (fsync included) runs in a worker thread so the event loop keeps serving the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from evse.clock import Clock
from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.devicemodel.model import DeviceModel
from evse.ocpp.rpc import Router
from evse.ocpp.v201 import messages as m
from evse.security.cert_store import (
    CertificateRejected,
    CertificateStore,
    CertificateStoreError,
    CertificateUse,
)
from evse.security.hash_data import CertificateHashData, HashAlgorithm, hash_data

log = logging.getLogger(__name__)

OwnCertificates = Callable[[], list[x509.Certificate]]


def register(
    router: Router,
    store: CertificateStore,
    dm: DeviceModel,
    clock: Clock,
    *,
    own_certificates: OwnCertificates,
) -> None:
    """Attach the certificate handlers. `own_certificates` gives the station's ChargingStationCertificate(s),
    which DeleteCertificate must never remove (M04.FR.06)."""

    async def install_certificate(request: m.InstallCertificateRequest) -> m.InstallCertificateResponse:
        use = CertificateUse(request.certificateType.value)
        try:
            await asyncio.to_thread(
                store.install, use, request.certificate, now=clock.now(), capacity=certificate_capacity(dm)
            )
        except CertificateRejected as exc:  # M05.FR.06 (no room), M05.FR.07 (invalid)
            log.info("install certificate type=%s rejected: %s", use.value, exc.detail)
            return m.InstallCertificateResponse(
                status=m.InstallCertificateStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode=exc.reason, additionalInfo=exc.detail[:512]),
            )
        except CertificateStoreError as exc:  # M05.FR.03
            log.error("install certificate type=%s failed: %s", use.value, exc)
            return m.InstallCertificateResponse(
                status=m.InstallCertificateStatusEnumType.Failed, statusInfo=m.StatusInfoType(reasonCode="WriteError")
            )
        return m.InstallCertificateResponse(status=m.InstallCertificateStatusEnumType.Accepted)  # M05.FR.02

    async def get_installed_certificate_ids(
        request: m.GetInstalledCertificateIdsRequest,
    ) -> m.GetInstalledCertificateIdsResponse:
        # Omitted means every type. V2GCertificateChain (the station's own ISO 15118 chain) is never held
        # here: nothing matches it until ISO 15118 certificates are built.
        requested = {t.value for t in request.certificateType or m.GetCertificateIdUseEnumType}
        chains = await asyncio.to_thread(_hash_data_chains, store, requested)
        if not chains:  # M03.FR.02
            return m.GetInstalledCertificateIdsResponse(status=m.GetInstalledCertificateStatusEnumType.NotFound)
        return m.GetInstalledCertificateIdsResponse(  # M03.FR.03, M03.FR.04
            status=m.GetInstalledCertificateStatusEnumType.Accepted, certificateHashDataChain=chains
        )

    async def delete_certificate(request: m.DeleteCertificateRequest) -> m.DeleteCertificateResponse:
        wanted = _from_message(request.certificateHashData)
        status, reason = await asyncio.to_thread(_delete, store, wanted, own_certificates)
        if reason is None:
            return m.DeleteCertificateResponse(status=status)
        return m.DeleteCertificateResponse(status=status, statusInfo=m.StatusInfoType(reasonCode=reason))

    router.register(m.InstallCertificateRequest, install_certificate)
    router.register(m.GetInstalledCertificateIdsRequest, get_installed_certificate_ids)
    router.register(m.DeleteCertificateRequest, delete_certificate)


def certificate_capacity(dm: DeviceModel) -> int | None:
    """The maxLimit of SecurityCtrlr.CertificateEntries: how many certificates may be installed."""
    found = dm.find(ComponentKey("SecurityCtrlr"), VariableKey("CertificateEntries"))
    if isinstance(found, VariableDef) and found.characteristics.max_limit is not None:
        return int(found.characteristics.max_limit)
    return None


def client_certificate(path: Path | None) -> OwnCertificates:
    """The station's certificate from the configured client_cert file (its first certificate; the rest of
    the file is the chain to the CSMS root, which is not the station's own)."""

    def read() -> list[x509.Certificate]:
        if path is None:
            return []
        try:
            return x509.load_pem_x509_certificates(path.read_bytes())[:1]
        except (OSError, ValueError) as exc:
            log.warning("client certificate unreadable path=%s: %s", path, exc)
            return []

    return read


def _hash_data_chains(store: CertificateStore, requested: set[str]) -> list[m.CertificateHashDataChainType]:
    installed = store.installed()
    return [
        m.CertificateHashDataChainType(
            certificateType=m.GetCertificateIdUseEnumType(entry.use.value),
            certificateHashData=_to_message(store.hash_data(entry, among=installed)),
        )
        for entry in installed
        if entry.use.value in requested
    ]


def _delete(
    store: CertificateStore, wanted: CertificateHashData, own_certificates: OwnCertificates
) -> tuple[m.DeleteCertificateStatusEnumType, str | None]:
    status = m.DeleteCertificateStatusEnumType
    for own in own_certificates():
        # Issuer name and serial suffice to recognise it; the station need not hold its issuer's key.
        if hash_data(own, own, wanted.algorithm).same_issuer_and_serial(wanted):
            log.info("delete certificate refused: the station's own certificate serial=%s", wanted.serial_number)
            return status.Failed, "UnsupportedRequest"  # M04.FR.06
    entry = store.find(wanted)
    if entry is None:
        return status.NotFound, None  # M04.FR.04
    try:
        store.delete(entry)
    except CertificateStoreError as exc:
        log.error("delete certificate failed: %s", exc)
        return status.Failed, "WriteError"  # M04.FR.03
    return status.Accepted, None  # M04.FR.02


def _to_message(data: CertificateHashData) -> m.CertificateHashDataType:
    return m.CertificateHashDataType(
        hashAlgorithm=m.HashAlgorithmEnumType(data.algorithm.value),
        issuerNameHash=data.issuer_name_hash,
        issuerKeyHash=data.issuer_key_hash,
        serialNumber=data.serial_number,
    )


def _from_message(data: m.CertificateHashDataType) -> CertificateHashData:
    return CertificateHashData(
        algorithm=HashAlgorithm(data.hashAlgorithm.value),
        issuer_name_hash=data.issuerNameHash,
        issuer_key_hash=data.issuerKeyHash,
        serial_number=data.serialNumber,
    )
