"""Plug & Charge under OCPP 1.6J: the OCA whitepaper "Using ISO 15118 Plug & Charge with OCPP 1.6".

The 2.0.1 messages of C07 (contract authorization), M01/M02 (Get15118EVCertificate), M06 and C07's OCSP
(GetCertificateStatus), A02 for the V2G certificate (TriggerMessage SignV2GCertificate, SignCertificate,
CertificateSigned) and M03-M05 (GetInstalledCertificateIds, DeleteCertificate, InstallCertificate of the V2G
and MO roots) travel in DataTransfer: vendorId org.openchargealliance.iso15118pnc, messageId the 2.0.1
action, data the 2.0.1 payload as JSON text, checked here against the official 2.0.1 schemas. The EV side is
the emulated SECC on a python-can virtual bus; the CSMS is the 1.6 dev CSMS (the `ocpp` library's 1.6 side).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.exceptions import NotImplementedError as OcppNotImplementedError
from ocpp.v16 import call

from drivers.iso15118.certificate_messages import CertificateAction, RootKind
from evse.devcsms.server16 import DevCsms16
from evse.ocpp.v16.pnc import VENDOR_ID
from evse.ocpp.v201 import schemas
from hil.emulators.iso15118 import EmulatedSecc
from tests.cert_factory import make_certificate, reference_hash_data
from tests.conformance.octt import settle
from tests.conformance.test_c_plug_and_charge import (  # noqa: F401 - emulated_module: the `module` fixture
    CHAIN,
    EMAID,
    EVCC_ID,
    UNKNOWN_EMAID,
    channel_of,
    emulated_module,
    pnc_board,
)
from tests.conformance.test_m_ev_certificates import EXI_REQUEST, SCHEMA, sign_csr
from tests.conformance.test_m_v2g_ocsp import Chain, serials, stapled
from tests.conformance.wire import until
from tests.integration.conftest import STATION_ID, StationUnderTest

Payload = dict[str, Any]


@pytest.fixture
async def sut(make_station16: Any, csms16: DevCsms16, module: EmulatedSecc) -> StationUnderTest:
    station: StationUnderTest = await make_station16(board=pnc_board(channel_of(module)))
    await csms16.wait_for("StatusNotification", timeout=10)
    await module.wait_until(lambda: module.hellos_received > 0)
    return station


async def wrapped(csms16: DevCsms16, message_id: str, timeout: float = 10) -> Payload:
    """The next whitepaper DataTransfer with `message_id`: its data, checked as the 2.0.1 request it carries."""
    frame = await csms16.wait_for(
        "DataTransfer",
        predicate=lambda p: p.get("vendorId") == VENDOR_ID and p.get("messageId") == message_id,
        timeout=timeout,
    )
    request = json.loads(frame["data"])
    schemas.validate_request(message_id, request)  # raises if the station broke the 2.0.1 schema
    return dict(request)


async def present(sut: StationUnderTest, module: EmulatedSecc, emaid: str) -> None:
    sut.d.board.plug(1)
    await module.start_session(EVCC_ID)
    await module.present_contract(emaid, CHAIN)


async def test_C07_under_16_contract_authorized_through_data_transfer_then_start_transaction(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """Whitepaper Authorize (C07.FR.01/02): the contract goes out as DataTransfer Authorize whose data is a
    2.0.1 AuthorizeRequest (idToken eMAID, iso15118CertificateHashData of the chain), never as a plain
    Authorize; Accepted reaches the module and StartTransaction carries the eMAID as idTag."""
    await present(sut, module, EMAID)
    request = await wrapped(csms16, "Authorize")
    assert request["idToken"] == {"idToken": EMAID, "type": "eMAID"}
    assert [h["serialNumber"] for h in request["iso15118CertificateHashData"]] == ["1a2b3c", "4d5e6f"]
    await module.wait_until(lambda: bool(module.authorizations))
    assert module.authorizations[0].accepted
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == EMAID
    assert csms16.received("Authorize") == []  # not also a plain 1.6 Authorize
    sut.d.board.set_ev_state(1, "C")
    await until(lambda: sut.d.board.contactor(1).is_closed, "charging")
    await module.stop_session()
    sut.d.board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert stop["transactionId"] == next(iter(csms16.transactions16))
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_C07_under_16_contract_refused_by_the_csms_is_not_charged(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """C07.FR.03 through the whitepaper: the CSMS's AuthorizeResponse (in DataTransfer data) says Invalid:
    the module is told no and no StartTransaction is sent."""
    await present(sut, module, UNKNOWN_EMAID)
    await wrapped(csms16, "Authorize")
    await module.wait_until(lambda: bool(module.authorizations))
    assert not module.authorizations[0].accepted
    assert not sut.d.board.contactor(1).is_closed
    assert csms16.received("StartTransaction") == []
    csms16.assert_no_failures()


async def test_C07_under_16_a_csms_without_the_whitepaper_gets_the_emaid_as_a_plain_authorize(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """A 1.6 CSMS that answers the whitepaper's DataTransfer UnknownVendorId still decides: the eMAID goes
    out as the idTag of a 1.6 Authorize, and its IdTagInfo is the verdict."""
    csms16.respond("DataTransfer", {"status": "UnknownVendorId"})
    csms16.behaviour.tokens.add(EMAID)
    await present(sut, module, EMAID)
    await wrapped(csms16, "Authorize")
    plain = await csms16.wait_for("Authorize", timeout=5)
    assert plain == {"idTag": EMAID}
    await module.wait_until(lambda: bool(module.authorizations))
    assert module.authorizations[0].accepted
    assert (await csms16.wait_for("StartTransaction", timeout=5))["idTag"] == EMAID
    csms16.assert_no_failures()


async def test_C07_under_16_a_csms_without_data_transfer_gets_the_emaid_as_a_plain_authorize(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """A 1.6 CSMS that answers DataTransfer itself with a CALLERROR (NotImplemented) is one without the
    whitepaper too: the plain Authorize follows, not the offline rules."""

    def no_data_transfer(_payload: Payload) -> Any:
        raise OcppNotImplementedError(description="DataTransfer is not implemented")

    csms16.respond("DataTransfer", no_data_transfer)
    await present(sut, module, EMAID)
    assert await csms16.wait_for("Authorize", timeout=5) == {"idTag": EMAID}
    await module.wait_until(lambda: bool(module.authorizations))
    assert module.authorizations[0].accepted
    assert (await csms16.wait_for("StartTransaction", timeout=5))["idTag"] == EMAID


async def test_M01_under_16_ev_certificate_installation_through_data_transfer(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """Whitepaper Get15118EVCertificate (M01.FR.01): the EV's exiRequest goes out untouched in a 2.0.1
    Get15118EVCertificateRequest; the exiResponse from the DataTransfer.conf data reaches the module."""
    request_id = await module.request_ev_certificate(EXI_REQUEST, CertificateAction.INSTALL, SCHEMA)
    request = await wrapped(csms16, "Get15118EVCertificate")
    assert base64.b64decode(request["exiRequest"]) == EXI_REQUEST
    assert (request["action"], request["iso15118SchemaVersion"]) == ("Install", SCHEMA)
    await module.wait_until(lambda: module.ev_certificate_response(request_id) is not None)
    response = module.ev_certificate_response(request_id)
    assert response is not None and response.accepted
    assert response.exi == b"devcsms CertificateInstallationRes Install " + hashlib.sha256(EXI_REQUEST).digest()
    csms16.assert_no_failures()


async def test_M01_under_16_a_csms_without_the_whitepaper_is_failed_for_the_ev(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """No answer to relay (the CSMS answers UnknownMessageId): the module hears Failed at once, the EV is
    not left waiting for its timeout."""
    csms16.respond("DataTransfer", {"status": "UnknownMessageId"})
    request_id = await module.request_ev_certificate(EXI_REQUEST, CertificateAction.UPDATE, SCHEMA)
    await module.wait_until(lambda: module.ev_certificate_response(request_id) is not None)
    response = module.ev_certificate_response(request_id)
    assert response is not None and not response.accepted
    csms16.assert_no_failures()


async def test_C07_under_16_contract_ocsp_asked_through_data_transfer(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """Whitepaper GetCertificateStatus (C07.FR.06 with the station checking the chain): each Sub-CA's OCSP
    data goes out as a 2.0.1 GetCertificateStatusRequest; a revoked one refuses the contract before any
    Authorize."""
    csms16.behaviour.pnc.revoked_serials.add("4d5e6f")
    await present(sut, module, EMAID)
    asked = [await wrapped(csms16, "GetCertificateStatus") for _ in CHAIN]
    assert sorted(a["ocspRequestData"]["serialNumber"] for a in asked) == ["1a2b3c", "4d5e6f"]
    await module.wait_until(lambda: bool(module.authorizations))
    assert not module.authorizations[0].accepted
    assert [p for p in csms16.received("DataTransfer") if p["messageId"] == "Authorize"] == []
    csms16.assert_no_failures()


async def test_A02_under_16_v2g_certificate_signed_and_listed_through_data_transfer(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """Whitepaper TriggerMessage SignV2GCertificate, SignCertificate, CertificateSigned, InstallCertificate
    and GetInstalledCertificateIds (A02.FR.03/06, M03, M05): each answer is the 2.0.1 response in the
    DataTransfer.conf data; the chain reaches the module and is listed with its sub-CA."""
    root = make_certificate("V2G Root CA")
    sub_ca = make_certificate("CPO Sub-CA 1", issuer=root)
    status, answer = await csms16.call_pnc(
        STATION_ID, "InstallCertificate", {"certificateType": "V2GRootCertificate", "certificate": root.pem}
    )
    assert (status, answer) == ("Accepted", {"status": "Accepted"})
    csms16.behaviour.pnc_overrides["SignCertificate"] = lambda _request: {"status": "Accepted"}
    status, answer = await csms16.call_pnc(STATION_ID, "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    assert (status, answer) == ("Accepted", {"status": "Accepted"})
    sign = await wrapped(csms16, "SignCertificate")
    assert sign["certificateType"] == "V2GCertificate"
    leaf = sign_csr(sign["csr"], sub_ca)
    chain = leaf.public_bytes(Encoding.PEM).decode() + sub_ca.pem
    status, answer = await csms16.call_pnc(
        STATION_ID, "CertificateSigned", {"certificateChain": chain, "certificateType": "V2GCertificate"}
    )
    assert (status, answer) == ("Accepted", {"status": "Accepted"})
    await module.wait_until(lambda: chain in module.v2g_chains)
    status, listed = await csms16.call_pnc(
        STATION_ID, "GetInstalledCertificateIds", {"certificateType": ["V2GCertificateChain"]}
    )
    assert status == "Accepted" and listed["status"] == "Accepted"
    schemas.validate_response("GetInstalledCertificateIds", listed)
    assert listed["certificateHashDataChain"][0]["certificateHashData"] == _camel(
        reference_hash_data(leaf, sub_ca.certificate)
    )
    csms16.assert_no_failures()


async def test_M06_under_16_v2g_chain_ocsp_asked_through_data_transfer_and_stapled(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """M06 through the whitepaper: once the module has its V2G chain (signed through DataTransfer), the OCSP
    status of each Sub-CA is asked in a 2.0.1 GetCertificateStatusRequest inside DataTransfer, and the DER
    responses from the answers' data reach the module in chain order."""
    chain = Chain()
    install = {"certificateType": "V2GRootCertificate", "certificate": chain.root.pem}
    assert (await csms16.call_pnc(STATION_ID, "InstallCertificate", install))[0] == "Accepted"
    csms16.behaviour.pnc_overrides["SignCertificate"] = lambda _request: {"status": "Accepted"}
    await csms16.call_pnc(STATION_ID, "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    sign = await wrapped(csms16, "SignCertificate")
    chain.leaf = sign_csr(sign["csr"], chain.sub2)
    pem = chain.leaf.public_bytes(Encoding.PEM).decode() + chain.sub2.pem + chain.sub1.pem
    signed = {"certificateChain": pem, "certificateType": "V2GCertificate"}
    assert (await csms16.call_pnc(STATION_ID, "CertificateSigned", signed)) == ("Accepted", {"status": "Accepted"})
    asked = [(await wrapped(csms16, "GetCertificateStatus"))["ocspRequestData"] for _ in range(2)]
    assert asked == chain.expected_requests()
    await module.wait_until(lambda: len(module.ocsp_responses) == 2)
    assert stapled(module) == serials(chain.sub2, chain.sub1)
    csms16.assert_no_failures()


async def test_M04_M05_under_16_mo_root_installed_and_deleted_through_data_transfer(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """Whitepaper InstallCertificate(MORootCertificate) hands the root to the module; DeleteCertificate with its
    hash data takes it away (M04.FR.01), each answered with the 2.0.1 status in data."""
    mo_root = make_certificate("MO Root")
    status, answer = await csms16.call_pnc(
        STATION_ID, "InstallCertificate", {"certificateType": "MORootCertificate", "certificate": mo_root.pem}
    )
    assert (status, answer) == ("Accepted", {"status": "Accepted"})
    await module.wait_until(lambda: module.roots.get(RootKind.MO) == (mo_root.pem,))
    hash_data = _camel(reference_hash_data(mo_root.certificate, mo_root.certificate))
    status, answer = await csms16.call_pnc(STATION_ID, "DeleteCertificate", {"certificateHashData": hash_data})
    assert (status, answer) == ("Accepted", {"status": "Accepted"})
    await module.wait_until(lambda: module.roots.get(RootKind.MO) == ())
    csms16.assert_no_failures()


async def test_under_16_whitepaper_data_transfer_that_breaks_the_rules_is_refused(
    csms16: DevCsms16, sut: StationUnderTest
) -> None:
    """An unknown messageId is UnknownMessageId; data that is not JSON, or not a valid 2.0.1 request of its
    messageId, is Rejected naming the problem; another vendor is UnknownVendorId. Nothing is installed."""

    async def send(message_id: str, data: str, vendor: str = VENDOR_ID) -> Any:
        return await csms16.call(STATION_ID, call.DataTransfer(vendor_id=vendor, message_id=message_id, data=data))

    assert (await send("GetLog", "{}")).status == "UnknownMessageId"
    assert (await send("Reset", '{"type":"Immediate"}')).status == "UnknownMessageId"  # 2.0.1, not the whitepaper
    broken = await send("InstallCertificate", "{not json")
    assert broken.status == "Rejected" and broken.data.startswith("InstallCertificate:")
    wrong = await send("InstallCertificate", json.dumps({"certificateType": "Nonsense", "certificate": "x"}))
    assert wrong.status == "Rejected" and "certificateType" in wrong.data
    deep = await send("InstallCertificate", "[" * 50_000 + "]" * 50_000)  # past the JSON decoder's recursion
    assert deep.status == "Rejected" and "nested too deep" in deep.data
    assert (await send("InstallCertificate", "{}", vendor="com.example")).status == "UnknownVendorId"
    status, listed = await csms16.call_pnc(STATION_ID, "GetInstalledCertificateIds", {})
    assert (status, listed["status"]) == ("Accepted", "NotFound")
    csms16.assert_no_failures()


async def test_under_16_trigger_of_anything_but_sign_v2g_certificate_is_not_implemented(
    csms16: DevCsms16, sut: StationUnderTest
) -> None:
    """The whitepaper's TriggerMessage serves SignV2GCertificate only: a BootNotification asked this way is
    NotImplemented (1.6 has its own TriggerMessage for that) and no BootNotification follows."""
    status, answer = await csms16.call_pnc(STATION_ID, "TriggerMessage", {"requestedMessage": "BootNotification"})
    assert (status, answer) == ("Accepted", {"status": "NotImplemented"})
    await settle()
    assert len(csms16.received("BootNotification")) == 1
    csms16.assert_no_failures()


async def test_under_16_plug_and_charge_keys_in_get_and_change_configuration(
    csms16: DevCsms16, sut: StationUnderTest, module: EmulatedSecc
) -> None:
    """The whitepaper's configuration keys are the 2.0.1 variables: ISO15118PnCEnabled false (every EVSE's
    ISO15118Ctrlr.PnCEnabled) leaves a contract unanswered, no DataTransfer Authorize goes out."""
    keys = ["ISO15118PnCEnabled", "CentralContractValidationAllowed", "ContractValidationOffline"]
    keys += ["CertSigningWaitMinimum", "CertSigningRepeatTimes"]
    shown = await csms16.call(STATION_ID, call.GetConfiguration(key=keys))
    assert shown.unknown_key is None
    values = {k["key"]: (k["value"], k["readonly"]) for k in shown.configuration_key}
    assert values == {
        "ISO15118PnCEnabled": ("true", False),
        "CentralContractValidationAllowed": ("false", False),
        "ContractValidationOffline": ("true", False),
        "CertSigningWaitMinimum": ("60", False),
        "CertSigningRepeatTimes": ("3", False),
    }
    changed = await csms16.call(STATION_ID, call.ChangeConfiguration(key="ISO15118PnCEnabled", value="false"))
    assert changed.status == "Accepted"
    assert sut.d.station.dm.get_bool("ISO15118Ctrlr", "PnCEnabled", evse_id=1) is False
    await present(sut, module, EMAID)
    await settle()
    assert module.authorizations == []
    assert csms16.received("DataTransfer") == []
    refused = await csms16.call(STATION_ID, call.ChangeConfiguration(key="CertSigningWaitMinimum", value="0"))
    assert refused.status == "Rejected"  # below the variable's minLimit (1 s)
    csms16.assert_no_failures()


def _camel(hash_data: dict[str, Any]) -> dict[str, Any]:
    """reference_hash_data's snake_case keys (the ocpp library's) as the camelCase of the wire."""
    names = {
        "hash_algorithm": "hashAlgorithm",
        "issuer_name_hash": "issuerNameHash",
        "issuer_key_hash": "issuerKeyHash",
        "serial_number": "serialNumber",
    }
    return {names.get(k, k): v for k, v in hash_data.items()}
