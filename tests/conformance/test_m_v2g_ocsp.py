"""OCTT block M, M06: the OCSP status of the station's V2G certificate chain (TC_M_24_CS, TC_M_25_CS).

The emulated SECC module on a python-can virtual bus has a V2G chain leaf - CPO Sub-CA 2 - CPO Sub-CA 1
signed for it (A02 with V2GCertificate) under a V2G root installed over OCPP; the station asks the dev CSMS
for the OCSP status of both Sub-CAs and hands the DER responses to the module (bridge protocol 3,
V2G_OCSP_RESPONSES), which staples them for the EV.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from ocpp.v201 import call

from evse.devcsms.frames import Direction
from evse.devcsms.server import DevCsms
from hil.emulators.iso15118 import EmulatedSecc
from tests.cert_factory import Issued, make_certificate, reference_hash_data
from tests.conformance.octt import settle
from tests.conformance.test_m_ev_certificates import board, sign_csr
from tests.conformance.wire import until
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.unit.test_iso15118_support import unique_channel

ROOT_OCSP, SUB1_OCSP = "http://ocsp.v2g-root.example/", "http://ocsp.cpo-sub-ca-1.example/"


@pytest.fixture
async def rig(make_station: Any, csms: DevCsms) -> AsyncIterator[tuple[EmulatedSecc, StationUnderTest]]:
    """A module (bridge protocol 3) and a station asking again 1 s after a round the CSMS did not answer."""
    channel = unique_channel()
    async with EmulatedSecc.on_can(channel) as secc:
        station: StationUnderTest = await make_station(board=board(secc, channel), v2g_ocsp={"retry_interval_s": 1})
        await csms.wait_for("BootNotification", timeout=10)
        await secc.wait_until(lambda: bool(secc.limits))  # the bridge's handshake is done
        yield secc, station


class Chain:
    """The V2G PKI of the test: root, two Sub-CAs (each naming its OCSP responder) and the module's leaf."""

    def __init__(self) -> None:
        self.root = make_certificate("V2G Root CA")
        self.sub1 = make_certificate("CPO Sub-CA 1", issuer=self.root, ocsp_url=ROOT_OCSP)
        self.sub2 = make_certificate("CPO Sub-CA 2", issuer=self.sub1, ocsp_url=SUB1_OCSP)
        self.leaf: x509.Certificate | None = None

    def expected_requests(self) -> list[dict[str, str]]:
        """The OCSPRequestData of Sub-CA 2 then Sub-CA 1, as the OCTT computes them (camelCase)."""
        requests = []
        for certificate, issuer, url in ((self.sub2, self.sub1, SUB1_OCSP), (self.sub1, self.root, ROOT_OCSP)):
            data = reference_hash_data(certificate.certificate, issuer.certificate)
            requests.append(
                {
                    "hashAlgorithm": data["hash_algorithm"],
                    "issuerNameHash": data["issuer_name_hash"],
                    "issuerKeyHash": data["issuer_key_hash"],
                    "serialNumber": data["serial_number"],
                    "responderURL": url,
                }
            )
        return requests


async def sign_module_chain(csms: DevCsms, chain: Chain) -> None:
    """V2G root installed (M05), the module's CSR signed by Sub-CA 2 and sent back (A02): Accepted."""
    install = call.InstallCertificate(certificate_type="V2GRootCertificate", certificate=chain.root.pem)
    assert (await csms.call(STATION_ID, install)).status == "Accepted"
    csms.respond("SignCertificate", {"status": "Accepted"})
    triggered = await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignV2GCertificate"))
    assert triggered.status == "Accepted"
    sign = await csms.wait_for("SignCertificate", timeout=10)
    chain.leaf = sign_csr(sign["csr"], chain.sub2)
    pem = chain.leaf.public_bytes(Encoding.PEM).decode() + chain.sub2.pem + chain.sub1.pem
    signed = call.CertificateSigned(certificate_chain=pem, certificate_type="V2GCertificate")
    assert (await csms.call(STATION_ID, signed)).status == "Accepted"


def stapled(secc: EmulatedSecc) -> list[tuple[int, ocsp.OCSPCertStatus]]:
    """(serial number, status) of each OCSP response the module holds, in its order."""
    found = []
    for der in secc.ocsp_responses:
        response = ocsp.load_der_ocsp_response(der)
        found.append((response.serial_number, response.certificate_status))
    return found


def serials(*issued: Issued) -> list[tuple[int, ocsp.OCSPCertStatus]]:
    return [(i.certificate.serial_number, ocsp.OCSPCertStatus.GOOD) for i in issued]


async def test_TC_M_24_CS_get_charging_station_certificate_status_success(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """M06: once the module has its V2G chain the station sends GetCertificateStatus for each Sub-CA of
    it (never the leaf, never the root), with the OCSP CertID hashes and the responder URL of the
    certificate; the CSMS's DER OCSPResponses (Accepted) reach the module in chain order."""
    secc, _station = rig
    chain = Chain()
    await sign_module_chain(csms, chain)
    first = await csms.wait_for("GetCertificateStatus", timeout=10)
    second = await csms.wait_for("GetCertificateStatus", timeout=10)
    assert [first["ocspRequestData"], second["ocspRequestData"]] == chain.expected_requests()
    await secc.wait_until(lambda: len(secc.ocsp_responses) == 2)
    assert stapled(secc) == serials(chain.sub2, chain.sub1)
    answers = [f.payload for f in csms.log if f.direction is Direction.SENT and f.action == "GetCertificateStatus"]
    answered = [base64.b64decode(p["ocspResult"]) for p in answers]
    assert secc.ocsp_responses == answered
    csms.assert_no_failures()


async def test_TC_M_25_CS_get_charging_station_certificate_status_rejected(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """M06: the CSMS answers Failed: the module is given nothing, and the station asks again after
    v2g_ocsp.retry_interval_s (1 s here); once the CSMS answers Accepted the module gets both responses."""
    secc, _station = rig
    csms.respond("GetCertificateStatus", {"status": "Failed"})
    await sign_module_chain(csms, Chain())
    await until(lambda: len(csms.received("GetCertificateStatus")) >= 2, "both Sub-CAs asked", timeout=10)
    await settle()
    assert secc.ocsp_messages_received == 0
    asked = len(csms.received("GetCertificateStatus"))
    csms.respond("GetCertificateStatus", None)
    await until(lambda: len(csms.received("GetCertificateStatus")) >= asked + 2, "asked again", timeout=10)
    await secc.wait_until(lambda: len(secc.ocsp_responses) == 2)
    assert [s for _, s in stapled(secc)] == [ocsp.OCSPCertStatus.GOOD] * 2
    csms.assert_no_failures()


async def test_M06_a_restart_while_offline_hands_the_module_what_is_still_valid(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """The answers live in the station database: a station that restarts with no CSMS to ask hands the
    module the responses that are still valid (the dev CSMS gives an hour), without a GetCertificateStatus."""
    secc, station = rig
    await sign_module_chain(csms, Chain())
    await secc.wait_until(lambda: len(secc.ocsp_responses) == 2)
    held = list(secc.ocsp_responses)
    await station.stop()
    asked = len(csms.received("GetCertificateStatus"))
    await csms.stop()
    secc.ocsp_responses, secc.ocsp_messages_received = [], 0  # as a module that restarted meanwhile
    await station.start()
    await secc.wait_until(lambda: secc.ocsp_messages_received > 0)
    assert secc.ocsp_responses == held
    assert len(csms.received("GetCertificateStatus")) == asked
