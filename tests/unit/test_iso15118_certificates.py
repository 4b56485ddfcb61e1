"""Bridge message set version 2 over the real transports: long EXI payloads, the V2G CSR and chain, roots.

Each test runs twice: the CAN bridge against the emulated module on python-can's virtual bus, and the
serial bridge on a real pty pair. The payloads are longer than one transport message (4095 bytes), so
they travel segmented (docs/iso15118-bridge.md, section 5 of version 2).
"""

from __future__ import annotations

import os

import pytest
from cryptography import x509

from drivers.errors import DriverError
from drivers.interfaces import Iso15118CertificateBridge, Iso15118CertificateRequested, Iso15118V2gCsrPresented
from drivers.iso15118.certificate_messages import CertificateAction, EvCertificateRequest, RootKind
from drivers.iso15118.messages import MAX_MESSAGE_BYTES, encode
from drivers.iso15118.segments import split
from tests.unit.test_iso15118_support import Rig, rig

EXI_REQUEST = os.urandom(4200)  # the longest exiRequest OCPP carries (5600 base64 characters)
EXI_RESPONSE = os.urandom(5625)  # the longest exiResponse (7500 base64 characters)
V2G_ROOT = "-----BEGIN CERTIFICATE-----\n" + "A" * 1200 + "\n-----END CERTIFICATE-----\n"
MO_ROOT = "-----BEGIN CERTIFICATE-----\n" + "B" * 1100 + "\n-----END CERTIFICATE-----\n"


__all__ = ["rig"]  # the fixture, shared with the other bridge tests


def test_the_payloads_need_segments() -> None:
    """The round trip below is only a test of segmentation if the messages exceed one transport message."""
    request = encode(EvCertificateRequest(1, CertificateAction.INSTALL, "urn:iso:15118:2:2013:MsgDef", EXI_REQUEST))
    assert len(request) > MAX_MESSAGE_BYTES
    assert len(split(request, 1)) == 2


async def test_both_bridges_are_certificate_bridges(rig: Rig) -> None:
    assert isinstance(rig.bridge, Iso15118CertificateBridge)


async def test_ev_certificate_round_trip_with_the_longest_exi(rig: Rig) -> None:
    """M01/M02 on the bridge: the EV's request reaches the station whole, the answer reaches the module whole."""
    request_id = await rig.module.request_ev_certificate(EXI_REQUEST, CertificateAction.UPDATE)
    event = await rig.log.wait_for(Iso15118CertificateRequested)
    assert (event.request_id, event.action, event.exi_request) == (request_id, "Update", EXI_REQUEST)
    assert event.schema_version == "urn:iso:15118:2:2013:MsgDef"
    await rig.bridge.send_ev_certificate_response(request_id, True, EXI_RESPONSE)
    await rig.module.wait_until(lambda: rig.module.ev_certificate_response(request_id) is not None)
    response = rig.module.ev_certificate_response(request_id)
    assert response is not None and response.accepted and response.exi == EXI_RESPONSE


async def test_a_failed_answer_carries_no_exi(rig: Rig) -> None:
    request_id = await rig.module.request_ev_certificate(b"\x80\x98short")
    await rig.log.wait_for(Iso15118CertificateRequested)
    await rig.bridge.send_ev_certificate_response(request_id, False, b"ignored")
    await rig.module.wait_until(lambda: rig.module.ev_certificate_response(request_id) is not None)
    response = rig.module.ev_certificate_response(request_id)
    assert response is not None and not response.accepted and response.exi == b""


async def test_a_repeated_request_is_reported_once_and_answered_again(rig: Rig) -> None:
    """A module that lost the answer repeats its request: the CSMS must not be asked twice."""
    request_id = await rig.module.request_ev_certificate(EXI_REQUEST)
    await rig.log.wait_for(Iso15118CertificateRequested)
    await rig.bridge.send_ev_certificate_response(request_id, True, EXI_RESPONSE)
    await rig.module.wait_until(lambda: len(rig.module.ev_certificate_responses) == 1)
    rig.module._pending_requests[request_id] = EvCertificateRequest(  # as if the answer had been lost
        request_id, CertificateAction.INSTALL, "urn:iso:15118:2:2013:MsgDef", EXI_REQUEST
    )
    await rig.module._repeat_pending()
    await rig.module.wait_until(lambda: len(rig.module.ev_certificate_responses) == 2)
    assert rig.module.ev_certificate_responses[1].exi == EXI_RESPONSE
    assert len(rig.log.of(Iso15118CertificateRequested)) == 1


async def test_a_broken_segmented_transfer_is_repaired(rig: Rig) -> None:
    """A lost segment drops the transfer; the station's HELLO makes the module repeat its pending request."""
    request = EvCertificateRequest(9, CertificateAction.INSTALL, "urn:iso:15118:2:2013:MsgDef", EXI_REQUEST)
    rig.module._pending_requests[9] = request
    first, _second = split(encode(request), 77)
    await rig.module.transport.send(first)  # the second segment never comes
    await rig.module.transport.send(encode(rig.module._hello()))  # another message in the middle
    event = await rig.log.wait_for(Iso15118CertificateRequested)
    assert event.exi_request == EXI_REQUEST and event.request_id == 9
    assert rig.module.hellos_received >= 1


async def test_roots_are_forwarded_on_change_and_after_each_handshake(rig: Rig) -> None:
    await rig.bridge.set_root_certificates([V2G_ROOT], [MO_ROOT])
    await rig.module.wait_until(lambda: len(rig.module.roots) == 2)
    assert rig.module.roots == {RootKind.V2G: (V2G_ROOT,), RootKind.MO: (MO_ROOT,)}
    await rig.bridge.set_root_certificates([V2G_ROOT], [])  # an MO root deleted
    await rig.module.wait_until(lambda: rig.module.roots.get(RootKind.MO) == ())
    await rig.module.reboot()  # forgets everything, as a real module without storage would
    rig.module.roots.clear()
    await rig.module.wait_until(lambda: len(rig.module.roots) == 2)
    assert rig.module.roots == {RootKind.V2G: (V2G_ROOT,), RootKind.MO: ()}


async def test_the_module_makes_its_key_and_sends_a_csr_with_the_asked_subject(rig: Rig) -> None:
    await rig.bridge.request_v2g_csr("SECC-0001", "EVSE Stack", "DE")
    event = await rig.log.wait_for(Iso15118V2gCsrPresented)
    csr = x509.load_pem_x509_csr(event.csr_pem.encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "SECC-0001"
    assert rig.module.v2g_private_key_pem is not None
    assert b"PRIVATE KEY" not in event.csr_pem.encode()


async def test_the_v2g_chain_reaches_the_module_and_again_after_a_reboot(rig: Rig) -> None:
    chain = V2G_ROOT * 4  # longer than one transport message
    await rig.bridge.set_v2g_certificate_chain(chain)
    await rig.module.wait_until(lambda: rig.module.v2g_chains == [chain])
    await rig.module.reboot()
    await rig.module.wait_until(lambda: len(rig.module.v2g_chains) == 2)
    assert rig.module.v2g_chains[1] == chain


async def test_a_version_1_module_is_served_without_certificates(rig: Rig) -> None:
    rig.module.version = 1
    await rig.module.reboot()
    await rig.module.wait_until(lambda: rig.bridge._link.module_version == 1)
    received = rig.module.roots_received
    await rig.bridge.set_root_certificates([V2G_ROOT], [MO_ROOT])
    with pytest.raises(DriverError, match="protocol 1"):
        await rig.bridge.request_v2g_csr("SECC-0001", "EVSE Stack", "DE")
    await rig.bridge.set_current_limit(16)
    await rig.module.wait_until(lambda: rig.module.limits[-1].current_da == 160)
    assert rig.bridge.connected and rig.module.roots_received == received
