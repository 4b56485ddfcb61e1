"""The dev CSMS's Plug & Charge answers (evse/devcsms/pnc.py): plausible for a demo, scriptable for tests."""

from __future__ import annotations

from ocpp.v201 import datatypes

from evse.clock import SystemClock
from evse.devcsms.pnc import DEFAULT_CONTRACTS, PlugAndChargeCsms

HASH = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "ab" * 32,
    "issuerKeyHash": "cd" * 32,
    "serialNumber": "0c0ffee",
    "responderURL": "http://ocsp.example/",
}
CARD_INFO = datatypes.IdTokenInfoType(status="Accepted")


def authorize(pnc: PlugAndChargeCsms, emaid: str, **extra: object) -> tuple[str, str | None]:
    answer = pnc.authorize({"idToken": {"idToken": emaid, "type": "eMAID"}, **extra}, CARD_INFO)
    return answer.id_token_info.status, answer.certificate_status


def test_a_known_contract_with_a_good_chain_is_accepted() -> None:
    pnc = PlugAndChargeCsms(SystemClock())
    assert authorize(pnc, DEFAULT_CONTRACTS[0].lower(), iso15118CertificateHashData=[HASH]) == ("Accepted", "Accepted")


def test_unknown_revoked_and_certificate_less_contracts_are_refused() -> None:
    pnc = PlugAndChargeCsms(SystemClock())
    assert authorize(pnc, "XX0000000000001", iso15118CertificateHashData=[HASH]) == ("Invalid", "Accepted")
    assert authorize(pnc, DEFAULT_CONTRACTS[0]) == ("Invalid", "NoCertificateAvailable")
    pnc.revoked_serials.add("C0FFEE")  # serials compare as hex numbers: case and leading zeros do not matter
    assert authorize(pnc, DEFAULT_CONTRACTS[0], iso15118CertificateHashData=[HASH]) == ("Invalid", "CertificateRevoked")
    assert pnc.certificate_status({"ocspRequestData": HASH}).status == "Accepted"  # a revoked OCSP answer


def test_cards_keep_their_own_answer_and_get15118_ev_certificate_is_a_hook() -> None:
    pnc = PlugAndChargeCsms(SystemClock())
    answer = pnc.authorize({"idToken": {"idToken": "AABBCCDD", "type": "ISO14443"}}, CARD_INFO)
    assert answer.id_token_info is CARD_INFO and answer.certificate_status is None
    assert pnc.ev_certificate({}).status == "Failed"
    pnc.ev_certificate = lambda payload: {"status": "Accepted", "exiResponse": payload["exiRequest"]}
    assert pnc.ev_certificate({"exiRequest": "AAEC"}) == {"status": "Accepted", "exiResponse": "AAEC"}


def test_malformed_ocsp_request_data_is_answered_failed() -> None:
    pnc = PlugAndChargeCsms(SystemClock())
    assert pnc.certificate_status({"ocspRequestData": {**HASH, "issuerNameHash": "zz"}}).status == "Failed"
    assert pnc.certificate_status({"ocspRequestData": {**HASH, "issuerNameHash": "ab"}}).status == "Failed"
