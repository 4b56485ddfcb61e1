"""The tokens part of the station's port to its CSMS (evse/station/shell/wire.py): authorizing a token or a
contract, the OCSP status of a contract certificate, and the ISO 15118 certificate messages.

The vocabularies are the core's: a verdict is a TokenVerdict, a contract certificate's status the
CertificateStatus of evse/station/core/contract_auth.py, a certificate's hash entry the bridge's
OcspRequestData. Each call raises what the connection raises when there is no answer (NotConnected,
CallTimeout, CallError: evse.ocpp.rpc).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from drivers.interfaces import OcspRequestData
from evse.station.core.contract_auth import CertificateStatus
from evse.station.core.tokens_neutral import TokenVerdict


@dataclass(frozen=True)
class ContractAnswer:
    """The CSMS's answer to the authorization of a contract (an eMAID with its certificate, C07)."""

    verdict: TokenVerdict
    certificate_status: CertificateStatus | None  # None: the CSMS said nothing of the certificate


@dataclass(frozen=True)
class OcspAnswer:
    """The CSMS's answer to an OCSP status request it relays (M06): `status` Accepted or Failed, and on
    Accepted the responder's DER OCSPResponse in base64."""

    status: str
    ocsp_result: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"


@dataclass(frozen=True)
class EvCertificateAnswer:
    """The CSMS's answer to an EV's certificate installation or update request (M01/M02): `status`
    Accepted or Failed, and the EXI response for the EV (base64, as it travels)."""

    status: str
    exi_response: str

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"


class TokenWire(Protocol):
    """What the station's tokens code says to the CSMS and asks of it."""

    async def authorize(self, id_token: str, token_type: str) -> TokenVerdict:
        """The CSMS's verdict on a token presented at the station (C01)."""
        ...

    async def authorize_contract(
        self, emaid: str, hash_data: Sequence[OcspRequestData], certificate_pem: str | None
    ) -> ContractAnswer:
        """The CSMS's verdict on a contract: its eMAID with the chain's hash data, or the certificate itself
        when the station leaves the checking to the CSMS (C07)."""
        ...

    async def certificate_status(self, entry: OcspRequestData) -> OcspAnswer:
        """The OCSP status of one certificate, fetched by the CSMS (M06)."""
        ...

    async def ev_certificate(self, schema_version: str, action: str, exi_request: str) -> EvCertificateAnswer:
        """An EV's certificate request (`action` Install or Update, EXI in base64) relayed to the CSMS."""
        ...

    async def sign_v2g_certificate(self, csr_pem: str) -> bool:
        """Ask the CSMS to sign an ISO 15118 module's CSR (V2G certificate); True when it accepted to."""
        ...
