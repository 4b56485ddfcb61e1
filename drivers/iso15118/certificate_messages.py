"""Version 2 of the bridge message set: the certificate messages (docs/iso15118-bridge.md, section 4.2).

They carry Plug & Charge certificate work that the station relays to the CSMS without reading it:
the EV's certificate installation/update request (EXI, binary on the wire, base64 only on the OCPP
side), the module's V2G certificate signing request and the signed chain, and the V2G / MO roots the
module needs to check contracts and present its own chain. Several of them exceed one transport
message (4095 bytes); :mod:`drivers.iso15118.segments` splits and joins them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeAlias, TypeVar

from drivers.iso15118.codec import MalformedMessage, Reader, Writer

# OCPP 2.0.1 limits: exiRequest 5600 and exiResponse 7500 base64 characters (3 bytes per 4), the
# schema version 50, a CSR and an installed certificate 5500, a signed chain 10000 characters.
MAX_EXI_REQUEST: Final = 5600 // 4 * 3
MAX_EXI_RESPONSE: Final = 7500 // 4 * 3
MAX_SCHEMA_VERSION: Final = 50
MAX_CSR: Final = 5500
MAX_CERTIFICATE: Final = 5500
MAX_CHAIN: Final = 10000
MAX_ROOTS: Final = 8  # per kind: what the module is asked to hold (ISO 15118-2 allows a handful of roots)
MAX_SUBJECT_FIELD: Final = 64


class CertificateAction(IntEnum):
    """OCPP CertificateActionEnumType; the wire code is the value."""

    INSTALL = 1
    UPDATE = 2


class RootKind(IntEnum):
    """Which roots a ROOT_CERTIFICATES message replaces (OCPP InstallCertificateUseEnumType)."""

    V2G = 1  # V2GRootCertificate: the module's own chain and the EV's contract chains lead to them
    MO = 2  # MORootCertificate: roots of mobility operators' contract certificates


@dataclass(frozen=True, slots=True)
class EvCertificateRequest:
    """Module to station: the EV asked to install or update its contract certificate (M01/M02)."""

    request_id: int  # 1..255, chosen by the module; a repeat with the same id is the same request
    action: CertificateAction
    schema_version: str  # the EXI schema namespace of the session, e.g. urn:iso:15118:2:2013:MsgDef
    exi: bytes  # the CertificateInstallationReq / CertificateUpdateReq as the EV sent it


@dataclass(frozen=True, slots=True)
class EvCertificateResponse:
    """Station to module: the CSMS's answer to :class:`EvCertificateRequest` ``request_id``."""

    request_id: int
    accepted: bool  # False: Failed (CSMS refused, offline, no answer); exi is then empty
    exi: bytes


@dataclass(frozen=True, slots=True)
class V2gCsr:
    """Module to station: a PEM certificate signing request for the module's TLS key (V2GCertificate)."""

    csr_pem: str


@dataclass(frozen=True, slots=True)
class V2gCsrRequest:
    """Station to module: make a new key pair and send its CSR with this subject (TriggerMessage)."""

    common_name: str  # ISO15118Ctrlr.SeccId
    organization: str  # ISO15118Ctrlr.OrganizationName
    country: str  # ISO15118Ctrlr.CountryName (2 letters)


@dataclass(frozen=True, slots=True)
class V2gCertificateChain:
    """Station to module: the signed V2G certificate chain, leaf first (PEM)."""

    chain_pem: str


@dataclass(frozen=True, slots=True)
class RootCertificates:
    """Station to module: the complete set of roots of one kind (replaces what the module held)."""

    kind: RootKind
    certificates_pem: tuple[str, ...]


CertificateMessage: TypeAlias = (
    EvCertificateRequest | EvCertificateResponse | V2gCsr | V2gCsrRequest | V2gCertificateChain | RootCertificates
)


class CertificateMessageType(IntEnum):
    """Type bytes of the version 2 certificate messages."""

    EV_CERTIFICATE_REQUEST = 0x15
    V2G_CSR = 0x16
    EV_CERTIFICATE_RESPONSE = 0x22
    V2G_CSR_REQUEST = 0x23
    V2G_CERTIFICATE_CHAIN = 0x24
    ROOT_CERTIFICATES = 0x25


def _request_id(value: int) -> int:
    if not 1 <= value <= 255:
        raise ValueError(f"request id {value} outside 1..255")
    return value


def encode_certificate_message(message: CertificateMessage) -> Writer:
    """The fields of ``message``; ValueError when one does not fit."""
    t = CertificateMessageType
    match message:
        case EvCertificateRequest(request_id, action, schema_version, exi):
            if not exi:
                raise ValueError("empty EXI request")
            w = Writer(t.EV_CERTIFICATE_REQUEST).u8(_request_id(request_id)).u8(action)
            w.text(schema_version, max_bytes=MAX_SCHEMA_VERSION, ascii_only=True)
            return w.blob(exi, max_bytes=MAX_EXI_REQUEST)
        case EvCertificateResponse(request_id, accepted, exi):
            if accepted and not exi:
                raise ValueError("an accepted response carries the EXI response")
            w = Writer(t.EV_CERTIFICATE_RESPONSE).u8(_request_id(request_id)).u8(int(accepted))
            return w.blob(exi, max_bytes=MAX_EXI_RESPONSE)
        case V2gCsr(csr_pem):
            return Writer(t.V2G_CSR).text(csr_pem, max_bytes=MAX_CSR, ascii_only=False, wide=True)
        case V2gCsrRequest(common_name, organization, country):
            w = Writer(t.V2G_CSR_REQUEST)
            for value in (common_name, organization, country):
                w.text(value, max_bytes=MAX_SUBJECT_FIELD, ascii_only=False)
            return w
        case V2gCertificateChain(chain_pem):
            return Writer(t.V2G_CERTIFICATE_CHAIN).text(chain_pem, max_bytes=MAX_CHAIN, ascii_only=False, wide=True)
        case RootCertificates(kind, certificates):
            if len(certificates) > MAX_ROOTS:
                raise ValueError(f"{len(certificates)} roots, at most {MAX_ROOTS}")
            w = Writer(t.ROOT_CERTIFICATES).u8(kind).u8(len(certificates))
            for pem in certificates:
                w.text(pem, max_bytes=MAX_CERTIFICATE, ascii_only=False, wide=True)
            return w


_E = TypeVar("_E", bound=IntEnum)


def _enum_code(kind: type[_E], code: int) -> _E:
    try:
        return kind(code)
    except ValueError:
        raise MalformedMessage(f"unknown {kind.__name__} code {code}") from None


def _req_id(r: Reader) -> int:
    value = r.u8()
    if value == 0:
        raise MalformedMessage("request id 0")
    return value


def _ev_certificate_request(r: Reader) -> EvCertificateRequest:
    request_id, action = _req_id(r), _enum_code(CertificateAction, r.u8())
    schema = r.text(max_bytes=MAX_SCHEMA_VERSION, ascii_only=True)
    exi = r.blob(max_bytes=MAX_EXI_REQUEST)
    if not exi:
        raise MalformedMessage("empty EXI request")
    return EvCertificateRequest(request_id, action, schema, exi)


def _ev_certificate_response(r: Reader) -> EvCertificateResponse:
    request_id, accepted = _req_id(r), r.flag()
    exi = r.blob(max_bytes=MAX_EXI_RESPONSE)
    if accepted and not exi:
        raise MalformedMessage("accepted certificate response without EXI")
    return EvCertificateResponse(request_id, accepted, exi)


def _v2g_csr(r: Reader) -> V2gCsr:
    return V2gCsr(r.text(max_bytes=MAX_CSR, ascii_only=False, wide=True))


def _v2g_csr_request(r: Reader) -> V2gCsrRequest:
    return V2gCsrRequest(*(r.text(max_bytes=MAX_SUBJECT_FIELD, ascii_only=False) for _ in range(3)))


def _v2g_certificate_chain(r: Reader) -> V2gCertificateChain:
    return V2gCertificateChain(r.text(max_bytes=MAX_CHAIN, ascii_only=False, wide=True))


def _root_certificates(r: Reader) -> RootCertificates:
    kind, count = _enum_code(RootKind, r.u8()), r.u8()
    if count > MAX_ROOTS:
        raise MalformedMessage(f"{count} roots, at most {MAX_ROOTS}")
    return RootCertificates(
        kind, tuple(r.text(max_bytes=MAX_CERTIFICATE, ascii_only=False, wide=True) for _ in range(count))
    )


CERTIFICATE_DECODERS: Final[Mapping[int, Callable[[Reader], CertificateMessage]]] = {
    CertificateMessageType.EV_CERTIFICATE_REQUEST: _ev_certificate_request,
    CertificateMessageType.V2G_CSR: _v2g_csr,
    CertificateMessageType.EV_CERTIFICATE_RESPONSE: _ev_certificate_response,
    CertificateMessageType.V2G_CSR_REQUEST: _v2g_csr_request,
    CertificateMessageType.V2G_CERTIFICATE_CHAIN: _v2g_certificate_chain,
    CertificateMessageType.ROOT_CERTIFICATES: _root_certificates,
}
