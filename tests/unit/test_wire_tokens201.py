"""The tokens part of the wire in 2.0.1 (evse/ocpp/v201/wire/tokens.py): what the station asks in neutral terms
goes out as the 2.0.1 payload it always was, and the CSMS's answers come back in the station's terms; and the
station's word on a V2G chain becomes the CertificateSignedResponse it used to build itself."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from drivers.interfaces import HashAlgorithm, OcspRequestData
from evse.ocpp.calls import OcppMessage, Resp
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.handlers.station_certificate import signed_response
from evse.ocpp.v201.wire.tokens import Tokens201
from evse.station.core.contract_auth import CertificateStatus
from evse.station.core.tokens_neutral import Token, TokenKind, TokenStatus
from evse.station.shell.v2g_certificates import ChainOutcome
from evse.station.shell.wire_tokens import OcspAnswer

ENTRY = OcspRequestData(HashAlgorithm.SHA256, "AA" * 32, "bb" * 32, "0A1B", "http://ocsp.example/")
ENTRY_PAYLOAD = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "AA" * 32,
    "issuerKeyHash": "bb" * 32,
    "serialNumber": "0A1B",
    "responderURL": "http://ocsp.example/",
}


class Csms:
    """A CallSender that keeps each request's payload and answers with a fixed payload per action."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        self.sent.append((request.ACTION, request.model_dump(mode="json", exclude_none=True)))
        return response_type.model_validate(self.answers[request.ACTION])


async def test_authorize_sends_the_token_and_reads_the_verdict() -> None:
    csms = Csms(
        {"Authorize": {"idTokenInfo": {"status": "Blocked", "groupIdToken": {"idToken": "G", "type": "Central"}}}}
    )
    verdict = await Tokens201(csms).authorize("CARD", "ISO14443")
    assert csms.sent == [("Authorize", {"idToken": {"idToken": "CARD", "type": "ISO14443"}})]
    assert verdict.status is TokenStatus.Blocked and verdict.group == Token("G", TokenKind.Central)


async def test_a_contract_goes_with_its_hash_data_and_the_certificate_status_comes_back() -> None:
    csms = Csms({"Authorize": {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "CertificateRevoked"}})
    answer = await Tokens201(csms).authorize_contract("NL-ABC-123", (ENTRY,), None)
    expected = {"idToken": {"idToken": "NL-ABC-123", "type": "eMAID"}, "iso15118CertificateHashData": [ENTRY_PAYLOAD]}
    assert csms.sent == [("Authorize", expected)]
    assert answer.verdict.status is TokenStatus.Accepted
    assert answer.certificate_status is CertificateStatus.CertificateRevoked


async def test_a_contract_without_hash_data_sends_its_certificate_and_no_empty_list() -> None:
    csms = Csms({"Authorize": {"idTokenInfo": {"status": "Accepted"}}})
    answer = await Tokens201(csms).authorize_contract("NL-ABC-123", (), "-----BEGIN CERTIFICATE-----")
    assert csms.sent[0][1] == {
        "idToken": {"idToken": "NL-ABC-123", "type": "eMAID"},
        "certificate": "-----BEGIN CERTIFICATE-----",
    }
    assert answer.certificate_status is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": "Accepted", "ocspResult": "b2NzcA=="}, OcspAnswer("Accepted", "b2NzcA==")),
        ({"status": "Failed"}, OcspAnswer("Failed", None)),
    ],
)
async def test_certificate_status(answer: dict[str, Any], expected: OcspAnswer) -> None:
    csms = Csms({"GetCertificateStatus": answer})
    got = await Tokens201(csms).certificate_status(ENTRY)
    assert csms.sent == [("GetCertificateStatus", {"ocspRequestData": ENTRY_PAYLOAD})]
    assert got == expected and got.accepted is (expected.status == "Accepted")


async def test_ev_certificate() -> None:
    exi = base64.b64encode(b"\x80\x01").decode()
    csms = Csms({"Get15118EVCertificate": {"status": "Failed", "exiResponse": ""}})
    answer = await Tokens201(csms).ev_certificate("urn:iso:15118:2:2013:MsgDef", "Update", exi)
    assert csms.sent == [
        (
            "Get15118EVCertificate",
            {"iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef", "action": "Update", "exiRequest": exi},
        )
    ]
    assert not answer.accepted and answer.exi_response == ""


@pytest.mark.parametrize(("status", "accepted"), [("Accepted", True), ("Rejected", False)])
async def test_sign_v2g_certificate(status: str, accepted: bool) -> None:
    csms = Csms({"SignCertificate": {"status": status}})
    assert await Tokens201(csms).sign_v2g_certificate("-----BEGIN CERTIFICATE REQUEST-----") is accepted
    assert csms.sent == [
        ("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----", "certificateType": "V2GCertificate"})
    ]


def test_a_chain_outcome_becomes_the_certificate_signed_response() -> None:
    def payload(outcome: ChainOutcome) -> dict[str, Any]:
        return signed_response(outcome).model_dump(mode="json", exclude_none=True)

    assert payload(ChainOutcome(True)) == {"status": "Accepted"}
    assert payload(ChainOutcome(False, "WriteError")) == {
        "status": "Rejected",
        "statusInfo": {"reasonCode": "WriteError"},
    }
    long = payload(ChainOutcome(False, "InvalidChain", "x" * 600))
    assert long["statusInfo"]["reasonCode"] == "InvalidChain"
    assert long["statusInfo"]["additionalInfo"] == "x" * 512  # additionalInfo's maxLength
    assert m.CertificateSignedResponse.model_validate(long).status is m.CertificateSignedStatusEnumType.Rejected
