"""A02 for the V2G certificate: the SignCertificate(V2GCertificate) series repeats like the station
certificate's (TC_A_23_CS is the OCTT case of the latter; the rule is A02's for either certificate type).
The module is the emulated SECC on a python-can virtual bus; the CSMS is the dev CSMS over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from hil.emulators.iso15118 import EmulatedSecc
from tests.cert_factory import make_certificate
from tests.conformance.test_m_ev_certificates import board, sign_csr
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.unit.test_iso15118_support import unique_channel

SERIES = {"SecurityCtrlr.CertSigningWaitMinimum": 1, "SecurityCtrlr.CertSigningRepeatTimes": 1}


@pytest.fixture
async def rig(make_station: Any, csms: DevCsms) -> AsyncIterator[tuple[EmulatedSecc, StationUnderTest]]:
    channel = unique_channel()
    async with EmulatedSecc.on_can(channel) as secc:
        station: StationUnderTest = await make_station(board=board(secc, channel), device_model=SERIES)
        await csms.wait_for("BootNotification", timeout=10)
        await secc.wait_until(lambda: bool(secc.limits))  # the bridge's handshake is done
        yield secc, station


def key_of(csr_pem: str) -> bytes:
    key = x509.load_pem_x509_csr(csr_pem.encode()).public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


async def sign_requests(csms: DevCsms) -> list[dict[str, Any]]:
    csms.respond("SignCertificate", {"status": "Accepted"})
    triggered = await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignV2GCertificate"))
    assert triggered.status == "Accepted"
    return [await csms.wait_for("SignCertificate", timeout=10)]


async def test_A02_v2g_certificate_signed_timeout_repeats_the_request_with_a_new_key(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """A02 (SecurityCtrlr.CertSigningWaitMinimum 1 s, CertSigningRepeatTimes 1) with V2GCertificate: an
    accepted SignCertificate that no CertificateSigned follows is sent again after the wait with a CSR the
    module made for a new key; after the doubled wait, no third request."""
    secc, _station = rig
    sent = await sign_requests(csms)
    sent.append(await csms.wait_for("SignCertificate", timeout=5))
    assert [s["certificateType"] for s in sent] == ["V2GCertificate", "V2GCertificate"]
    assert key_of(sent[0]["csr"]) != key_of(sent[1]["csr"])
    await asyncio.sleep(2.5)  # past the second, doubled wait (2 s): CertSigningRepeatTimes 1 allows no third
    assert len(csms.received("SignCertificate")) == 2
    assert secc.v2g_chains == []


async def test_A02_v2g_certificate_signed_ends_the_series(
    csms: DevCsms, rig: tuple[EmulatedSecc, StationUnderTest]
) -> None:
    """A CertificateSigned(V2GCertificate) accepted before the wait is over ends the series: no repeat."""
    secc, _station = rig
    root = make_certificate("V2G Root CA")
    sub_ca = make_certificate("CPO Sub-CA 1", issuer=root)
    install = call.InstallCertificate(certificate_type="V2GRootCertificate", certificate=root.pem)
    assert (await csms.call(STATION_ID, install)).status == "Accepted"
    sent = await sign_requests(csms)
    chain = sign_csr(sent[0]["csr"], sub_ca).public_bytes(Encoding.PEM).decode() + sub_ca.pem
    signed = call.CertificateSigned(certificate_chain=chain, certificate_type="V2GCertificate")
    assert (await csms.call(STATION_ID, signed)).status == "Accepted"
    await secc.wait_until(lambda: chain in secc.v2g_chains)
    await asyncio.sleep(1.5)  # past the 1 s wait of the first request
    assert len(csms.received("SignCertificate")) == 1
