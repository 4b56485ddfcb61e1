"""Plug & Charge certificates through the ISO 15118 module bridge (version 2), the daemon and the dev CSMS:
M01/M02 Get15118EVCertificate (TC_M_26..29), the V2G certificate (TC_A_12), its chain listed (TC_M_15), and
the V2G / MO roots handed to the module. The module is the emulated SECC on the far end of a real
transport: a python-can virtual bus, or a pty pair for the serial bridge."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.exceptions import InternalError
from ocpp.v201 import call

from drivers.iso15118.certificate_messages import CertificateAction, RootKind
from evse.devcsms.server import DevCsms
from hil.emulators.iso15118 import EmulatedSecc
from tests.cert_factory import Issued, make_certificate, reference_hash_data
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.unit.test_iso15118_support import unique_channel

EXI_REQUEST = os.urandom(4200)  # the longest exiRequest: more than one CAN frame and one serial frame
SCHEMA = "urn:iso:15118:2:2013:MsgDef"


def board(secc: EmulatedSecc, channel: str | None) -> dict[str, Any]:
    timing = {"heartbeat_ms": 100, "timeout_ms": 1000}
    if channel is not None:
        bridge = {"driver": "can_bridge", "interface": "virtual", "channel": channel, **timing}
    else:
        bridge = {"driver": "serial_bridge", "port": secc.port, **timing}
    return {"meter": {"driver": "sim"}, "contactor": {"driver": "sim"}, "pilot": {"driver": "sim"}, "iso15118": bridge}


@pytest.fixture(params=["can", "serial"])
async def rig(
    request: pytest.FixtureRequest, make_station: Any, csms: DevCsms
) -> AsyncIterator[tuple[EmulatedSecc, StationUnderTest]]:
    channel = unique_channel() if request.param == "can" else None
    secc = EmulatedSecc.on_can(channel) if channel is not None else EmulatedSecc.on_pty()
    async with secc:
        station: StationUnderTest = await make_station(board=board(secc, channel))
        await csms.wait_for("BootNotification", timeout=10)
        await secc.wait_until(lambda: bool(secc.limits))  # the bridge's handshake is done
        yield secc, station


async def ev_certificate_round_trip(
    csms: DevCsms, secc: EmulatedSecc, action: CertificateAction
) -> tuple[dict[str, Any], bytes]:
    request_id = await secc.request_ev_certificate(EXI_REQUEST, action, SCHEMA)
    sent = await csms.wait_for("Get15118EVCertificate", timeout=10)
    await secc.wait_until(lambda: secc.ev_certificate_response(request_id) is not None)
    response = secc.ev_certificate_response(request_id)
    assert response is not None
    return sent, response.exi if response.accepted else b""


async def test_TC_M_26_CS_certificate_installation_ev_success(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """M01.FR.01: the EV's CertificateInstallationReq reaches the CSMS as exiRequest (base64 of the bytes the
    EV sent, untouched) with action Install and the session's schema version; the exiResponse reaches the
    module as bytes, untouched."""
    secc, _station = rig
    sent, exi = await ev_certificate_round_trip(csms, secc, CertificateAction.INSTALL)
    assert base64.b64decode(sent["exiRequest"]) == EXI_REQUEST
    assert (sent["action"], sent["iso15118SchemaVersion"]) == ("Install", SCHEMA)
    assert exi == b"devcsms CertificateInstallationRes Install " + hashlib.sha256(EXI_REQUEST).digest()
    csms.assert_no_failures()


async def test_TC_M_28_CS_certificate_update_ev_success(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """M02.FR.01: the same round trip with action Update; an exiResponse longer than one transport message
    (the schema's 7500 base64 characters) reaches the module whole."""
    secc, _station = rig
    long_answer = os.urandom(5625)
    csms.respond("Get15118EVCertificate", {"status": "Accepted", "exiResponse": base64.b64encode(long_answer).decode()})
    sent, exi = await ev_certificate_round_trip(csms, secc, CertificateAction.UPDATE)
    assert sent["action"] == "Update"
    assert exi == long_answer
    csms.assert_no_failures()


@pytest.mark.parametrize("action", [CertificateAction.INSTALL, CertificateAction.UPDATE])
async def test_TC_M_27_CS_TC_M_29_CS_certificate_installation_and_update_failed(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest], action: CertificateAction
) -> None:
    """M01/M02: a Failed answer of the CSMS reaches the module as Failed, without EXI."""
    secc, _station = rig
    csms.respond("Get15118EVCertificate", {"status": "Failed", "exiResponse": ""})
    _sent, exi = await ev_certificate_round_trip(csms, secc, action)
    assert exi == b""
    assert not secc.ev_certificate_responses[-1].accepted
    csms.assert_no_failures()


async def test_contract_certificate_installation_disabled_answers_failed_without_asking(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """ISO15118Ctrlr.ContractCertificateInstallationEnabled false: the EV gets Failed, the CSMS is not asked."""
    secc, _station = rig
    result = await csms.call(
        STATION_ID,
        call.SetVariables(
            set_variable_data=[
                {
                    "attribute_value": "false",
                    "component": {"name": "ISO15118Ctrlr", "evse": {"id": 1}},
                    "variable": {"name": "ContractCertificateInstallationEnabled"},
                }
            ]
        ),
    )
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"
    request_id = await secc.request_ev_certificate(EXI_REQUEST)
    await secc.wait_until(lambda: secc.ev_certificate_response(request_id) is not None)
    assert not secc.ev_certificate_responses[-1].accepted
    assert [f for f in csms.log if f.action == "Get15118EVCertificate"] == []


def sign_csr(csr_pem: str, issuer: Issued, days: float = 30) -> x509.Certificate:
    """The CSMS's CA at work: a certificate for the CSR's subject and key, signed by `issuer`."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    now = datetime.now(UTC) - timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )


async def test_TC_A_12_CS_TC_M_15_CS_v2g_certificate_reaches_the_module_and_is_listed(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """A02 for the V2GCertificate: TriggerMessage(SignV2GCertificate) is Accepted; the module makes the key
    and a CSR with the ISO15118Ctrlr subject; SignCertificate carries it with certificateType V2GCertificate
    (A02.FR.03); CertificateSigned(V2GCertificate) with the chain leaf - sub-CA is checked against the
    installed V2G root, Accepted and handed to the module, whose private key never crossed the bus.
    M03 / TC_M_15: GetInstalledCertificateIds(V2GCertificateChain) lists the leaf with the sub-CA as child."""
    secc, _station = rig
    root = make_certificate("V2G Root CA")
    sub_ca = make_certificate("CPO Sub-CA 1", issuer=root)
    result = await csms.call(
        STATION_ID, call.InstallCertificate(certificate_type="V2GRootCertificate", certificate=root.pem)
    )
    assert result.status == "Accepted"
    csms.respond("SignCertificate", {"status": "Accepted"})
    triggered = await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignV2GCertificate"))
    assert triggered.status == "Accepted"
    sign = await csms.wait_for("SignCertificate", timeout=10)
    assert sign["certificateType"] == "V2GCertificate"
    csr = x509.load_pem_x509_csr(sign["csr"].encode())
    assert csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == STATION_ID  # SeccId unset
    assert csr.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == "EvseStack"
    leaf = sign_csr(sign["csr"], sub_ca)
    chain = leaf.public_bytes(Encoding.PEM).decode() + sub_ca.pem
    answer = await csms.call(
        STATION_ID, call.CertificateSigned(certificate_chain=chain, certificate_type="V2GCertificate")
    )
    assert answer.status == "Accepted"
    await secc.wait_until(lambda: chain in secc.v2g_chains)
    assert secc.v2g_private_key_pem is not None and b"PRIVATE KEY" not in chain.encode()
    listed = await csms.call(STATION_ID, call.GetInstalledCertificateIds(certificate_type=["V2GCertificateChain"]))
    assert listed.status == "Accepted"
    assert listed.certificate_hash_data_chain == [
        {
            "certificate_type": "V2GCertificateChain",
            "certificate_hash_data": reference_hash_data(leaf, sub_ca.certificate),
            "child_certificate_hash_data": [reference_hash_data(sub_ca.certificate, root.certificate)],
        }
    ]
    csms.assert_no_failures()


async def test_TC_A_14_CS_v2g_certificate_signed_by_an_unknown_root_is_rejected(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """A02.FR.06 for the V2GCertificate: a chain that leads to no installed V2G root is Rejected and never
    reaches the module."""
    secc, _station = rig
    installed = make_certificate("V2G Root CA")
    stranger = make_certificate("Unknown Root")
    await csms.call(
        STATION_ID, call.InstallCertificate(certificate_type="V2GRootCertificate", certificate=installed.pem)
    )
    csms.respond("SignCertificate", {"status": "Accepted"})
    await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignV2GCertificate"))
    sign = await csms.wait_for("SignCertificate", timeout=10)
    chain = sign_csr(sign["csr"], stranger).public_bytes(Encoding.PEM).decode()
    answer = await csms.call(
        STATION_ID, call.CertificateSigned(certificate_chain=chain, certificate_type="V2GCertificate")
    )
    assert answer.status == "Rejected"
    assert secc.v2g_chains == []
    csms.assert_no_failures()


async def test_TC_M_03_CS_TC_M_04_CS_v2g_and_mo_roots_reach_the_module(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """M05 for V2GRootCertificate and MORootCertificate: each installed root is handed to the module, a
    deleted one is taken away (M04), and a rebooted module gets them again at the handshake."""
    secc, _station = rig
    v2g_root, mo_root = make_certificate("V2G Root"), make_certificate("MO Root")
    for kind, root in (("V2GRootCertificate", v2g_root), ("MORootCertificate", mo_root)):
        assert (
            await csms.call(STATION_ID, call.InstallCertificate(certificate_type=kind, certificate=root.pem))
        ).status == "Accepted"
    await secc.wait_until(lambda: secc.roots.get(RootKind.MO) == (mo_root.pem,))
    assert secc.roots[RootKind.V2G] == (v2g_root.pem,)
    deleted = await csms.call(
        STATION_ID,
        call.DeleteCertificate(certificate_hash_data=reference_hash_data(mo_root.certificate, mo_root.certificate)),
    )
    assert deleted.status == "Accepted"
    await secc.wait_until(lambda: secc.roots.get(RootKind.MO) == ())
    secc.roots.clear()
    await secc.reboot()
    await secc.wait_until(lambda: len(secc.roots) == 2)
    assert secc.roots == {RootKind.V2G: (v2g_root.pem,), RootKind.MO: ()}
    csms.assert_no_failures()


async def test_TC_M_27_CS_a_callerror_from_the_csms_is_failed_for_the_ev(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """M01: whatever keeps the CSMS from answering (here a CALLERROR) reaches the module as Failed at once,
    rather than leaving the EV to its own timeout."""
    secc, _station = rig

    def refuse(_payload: dict[str, Any]) -> Any:
        raise InternalError(description="no contract CA")

    csms.respond("Get15118EVCertificate", refuse)
    _sent, exi = await ev_certificate_round_trip(csms, secc, CertificateAction.INSTALL)
    assert exi == b"" and not secc.ev_certificate_responses[-1].accepted
