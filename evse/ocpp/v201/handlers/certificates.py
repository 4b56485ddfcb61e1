"""InstallCertificate (M05), GetInstalledCertificateIds (M03) and DeleteCertificate (M04): the CA
certificates of evse.security.cert_store over OCPP.

File I/O (fsync included) runs in a worker thread so the event loop keeps serving the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography import x509

from evse.clock import Clock
from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.devicemodel.model import DeviceModel
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.security.cert_store import (
    CertificateRejected,
    CertificateStore,
    CertificateStoreError,
    CertificateUse,
)
from evse.security.hash_data import CertificateHashData, HashAlgorithm, find_issuer, hash_data

log = logging.getLogger(__name__)

OwnCertificates = Callable[[], list[x509.Certificate]]


def register(
    router: Router,
    store: CertificateStore,
    dm: DeviceModel,
    clock: Clock,
    *,
    own_certificates: OwnCertificates,
    v2g_chains: Callable[[], list[list[x509.Certificate]]] = list,
    on_roots_changed: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Attach the certificate handlers. `own_certificates` gives the station's ChargingStationCertificate(s),
    which DeleteCertificate must never remove (M04.FR.06). `v2g_chains` gives the ISO 15118 modules'
    V2G chains (leaf first) for GetInstalledCertificateIds; `on_roots_changed` runs after an install or
    delete of a V2G or MO root has been answered (the roots are handed to the modules)."""

    def then_forward(use: CertificateUse | None) -> Callable[[], Awaitable[None]] | None:
        if on_roots_changed is None or use not in (CertificateUse.V2G_ROOT, CertificateUse.MO_ROOT):
            return None
        return on_roots_changed

    async def install_certificate(request: m.InstallCertificateRequest) -> m.InstallCertificateResponse | Reply:
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
        accepted = m.InstallCertificateResponse(status=m.InstallCertificateStatusEnumType.Accepted)  # M05.FR.02
        forward = then_forward(use)
        return accepted if forward is None else Reply(accepted, then=forward)

    async def get_installed_certificate_ids(
        request: m.GetInstalledCertificateIdsRequest,
    ) -> m.GetInstalledCertificateIdsResponse:
        # Omitted means every type. V2GCertificateChain: the chains of the ISO 15118 modules (v2g_chains).
        requested = {t.value for t in request.certificateType or m.GetCertificateIdUseEnumType}
        chains = await asyncio.to_thread(_hash_data_chains, store, requested)
        if m.GetCertificateIdUseEnumType.V2GCertificateChain.value in requested:  # M03.FR.05, TC_M_15
            roots = [e.certificate for e in await asyncio.to_thread(store.installed, [CertificateUse.V2G_ROOT])]
            chains += _v2g_chain_entries(await asyncio.to_thread(v2g_chains), roots)
        if not chains:  # M03.FR.02
            return m.GetInstalledCertificateIdsResponse(status=m.GetInstalledCertificateStatusEnumType.NotFound)
        return m.GetInstalledCertificateIdsResponse(  # M03.FR.03, M03.FR.04
            status=m.GetInstalledCertificateStatusEnumType.Accepted, certificateHashDataChain=chains
        )

    async def delete_certificate(request: m.DeleteCertificateRequest) -> m.DeleteCertificateResponse | Reply:
        wanted = _from_message(request.certificateHashData)
        entry = await asyncio.to_thread(store.find, wanted)
        status, reason = await asyncio.to_thread(_delete, store, wanted, own_certificates)
        if reason is None:
            forward = then_forward(entry.use if entry is not None else None)
            deleted = m.DeleteCertificateResponse(status=status)
            return (
                deleted
                if forward is None or status is not m.DeleteCertificateStatusEnumType.Accepted
                else Reply(deleted, then=forward)
            )
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


def _v2g_chain_entries(
    chains: list[list[x509.Certificate]], roots: list[x509.Certificate]
) -> list[m.CertificateHashDataChainType]:
    """One entry per module chain: the leaf's hash data, the sub-CAs' as its children. Each one's issuer is
    the next in the chain; the top one's is the installed V2G root that signed it (itself if none did,
    as the store does for a CA whose issuer is not installed)."""
    entries = []
    for chain in chains:
        if not chain:
            continue
        issuers = [*chain[1:], find_issuer(chain[-1], roots) or chain[-1]]
        data = [hash_data(c, issuer) for c, issuer in zip(chain, issuers, strict=True)]
        entries.append(
            m.CertificateHashDataChainType(
                certificateType=m.GetCertificateIdUseEnumType.V2GCertificateChain,
                certificateHashData=_to_message(data[0]),
                childCertificateHashData=[_to_message(d) for d in data[1:]] or None,
            )
        )
    return entries


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
