"""The tokens part of the station's port (evse/station/shell/wire_tokens.py), said in OCPP 2.0.1:
Authorize, GetCertificateStatus, Get15118EVCertificate and SignCertificate(V2GCertificate)."""

from __future__ import annotations

from collections.abc import Sequence

from drivers.interfaces import OcspRequestData
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.tokens import verdict_from_info
from evse.ocpp.v201.wire.base import WireBase
from evse.station.core.contract_auth import CertificateStatus
from evse.station.core.tokens_neutral import TokenVerdict
from evse.station.shell.wire_tokens import ContractAnswer, EvCertificateAnswer, OcspAnswer


def request_data(entry: OcspRequestData) -> m.OCSPRequestDataType:
    """The OCSPRequestDataType of a hash entry from the ISO 15118 bridge."""
    return m.OCSPRequestDataType(
        hashAlgorithm=m.HashAlgorithmEnumType(entry.hash_algorithm.value),
        issuerNameHash=entry.issuer_name_hash,
        issuerKeyHash=entry.issuer_key_hash,
        serialNumber=entry.serial_number,
        responderURL=entry.responder_url,
    )


def contract_answer(answer: m.AuthorizeResponse) -> ContractAnswer:
    status = answer.certificateStatus
    return ContractAnswer(
        verdict_from_info(answer.idTokenInfo), CertificateStatus(status.value) if status is not None else None
    )


class Tokens201(WireBase):
    """evse.station.shell.wire_tokens.TokenWire in 2.0.1."""

    async def authorize(self, id_token: str, token_type: str) -> TokenVerdict:
        request = m.AuthorizeRequest(idToken=m.IdTokenType(idToken=id_token, type=m.IdTokenEnumType(token_type)))
        return verdict_from_info((await self._sender.call(request, m.AuthorizeResponse)).idTokenInfo)

    async def authorize_contract(
        self, emaid: str, hash_data: Sequence[OcspRequestData], certificate_pem: str | None
    ) -> ContractAnswer:
        request = m.AuthorizeRequest(
            idToken=m.IdTokenType(idToken=emaid, type=m.IdTokenEnumType.eMAID),
            iso15118CertificateHashData=[request_data(entry) for entry in hash_data] or None,
            certificate=certificate_pem,
        )
        return contract_answer(await self._sender.call(request, m.AuthorizeResponse))

    async def certificate_status(self, entry: OcspRequestData) -> OcspAnswer:
        request = m.GetCertificateStatusRequest(ocspRequestData=request_data(entry))
        answer = await self._sender.call(request, m.GetCertificateStatusResponse)
        return OcspAnswer(answer.status.value, answer.ocspResult)

    async def ev_certificate(self, schema_version: str, action: str, exi_request: str) -> EvCertificateAnswer:
        request = m.Get15118EVCertificateRequest(
            iso15118SchemaVersion=schema_version, action=m.CertificateActionEnumType(action), exiRequest=exi_request
        )
        answer = await self._sender.call(request, m.Get15118EVCertificateResponse)
        return EvCertificateAnswer(answer.status.value, answer.exiResponse)

    async def sign_v2g_certificate(self, csr_pem: str) -> bool:
        request = m.SignCertificateRequest(csr=csr_pem, certificateType=m.CertificateSigningUseEnumType.V2GCertificate)
        answer = await self._sender.call(request, m.SignCertificateResponse)
        return answer.status is m.GenericStatusEnumType.Accepted
