"""The OCPP 1.6 OCTT connection-security cases (security whitepaper edition 3, A00/A01): Basic authentication,
the Central System's TLS certificate, the Charge Point's client certificate. Each runs the real daemon
speaking 1.6 against a loopback server with certificates made in the test; what the OCTT inspects (the
Authorization header, the TLS version and suite, the client certificate) is read by the test itself."""

from __future__ import annotations

import asyncio
import base64
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from ocpp.v16 import call
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request
from websockets.typing import Subprotocol

from evse.devcsms.server16 import DevCsms16
from tests.csr_signing import pem, sign_csr
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings
from tests.tls_certs import CertificateAuthority, KeyType, server_context

#: A 20-byte password that is not text on purpose, and its hex spelling, the AuthorizationKey a Central
#: System sends.
KEY_BYTES = b"\x00\xff\x10\xe2" + b"OCA_OCTT_admin_t"
HEX_KEY = KEY_BYTES.hex()


async def start_station(stations: list[StationUnderTest], tmp_path: Path, port: int, **csms: Any) -> StationUnderTest:
    section = {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 1, "ocpp_version": "1.6", **csms}
    sut = StationUnderTest(station_settings(tmp_path, port, csms=section))
    stations.append(sut)
    await sut.start()
    return sut


# ---- TC_085_CS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "sent"),
    [(PASSWORD, PASSWORD.encode()), (HEX_KEY, KEY_BYTES)],
    ids=["text-password", "hex-authorization-key"],
)
async def test_TC_085_CS_basic_authentication_valid_username_password(
    tmp_path: Path, stations: list[StationUnderTest], configured: str, sent: bytes
) -> None:
    """Whitepaper A00 (1.6, profile 1): the HTTP upgrade request carries
    ``Authorization: Basic base64(<ChargePointId>:<password>)`` where ChargePointId is the last segment of the
    URL path and the password is the non-hex form of the configured key: a 32-40 hex digit AuthorizationKey
    stands for its 16-20 bytes (they need not be text), a 16-20 character value is the text itself."""
    requests: list[Request] = []

    def record(connection: ServerConnection, request: Request) -> None:
        requests.append(request)

    async def handler(websocket: ServerConnection) -> None:
        await websocket.wait_closed()

    ocpp16 = [Subprotocol("ocpp1.6")]
    async with serve(handler, "127.0.0.1", 0, subprotocols=ocpp16, process_request=record) as server:
        port = server.sockets[0].getsockname()[1]
        sut = await start_station(stations, tmp_path, port, basic_auth_password=configured)
        await asyncio.wait_for(sut.d.connection.connected.wait(), 10)
    [request] = requests[:1]
    scheme, _, credentials = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(credentials, validate=True).partition(b":")
    assert user.decode() == request.path.rstrip("/").rsplit("/", 1)[-1] == STATION_ID
    assert password == sent


async def test_TC_085_CS_hex_authorization_key_set_by_the_central_system(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Whitepaper A01 with A00 (1.6): after ChangeConfiguration(AuthorizationKey=<hex>), the Charge Point
    reconnects and the Central System, which compares the bytes the hex stands for, accepts it."""
    connections = len(csms16.connections)
    csms16.basic_auth = {STATION_ID: HEX_KEY}
    answer = await csms16.call(STATION_ID, call.ChangeConfiguration(key="AuthorizationKey", value=HEX_KEY))
    assert answer.status == "Accepted"
    async with asyncio.timeout(10):
        while len(csms16.connections) == connections:  # noqa: ASYNC110 - connections is a plain list
            await asyncio.sleep(0.05)
    await csms16.wait_connected(STATION_ID, timeout=5)
    assert csms16.auth_attempts[-1].accepted
    csms16.assert_no_failures()


# ---- TC_086_CS / TC_087_CS -------------------------------------------------------------------------------


async def serve16(
    servers16: list[DevCsms16], context: ssl.SSLContext | None, port: int = 0, **kwargs: Any
) -> DevCsms16:
    server = DevCsms16(boot_interval=300, **kwargs)
    await server.start("127.0.0.1", port, ssl=context)
    servers16.append(server)
    return server


def tls12_only(
    ca: CertificateAuthority, suite: str, key_type: KeyType, client_ca: CertificateAuthority | None = None
) -> ssl.SSLContext:
    """A Central System's context that speaks TLS 1.2 and nothing else, with the one suite `suite`: the
    handshake succeeds only if the Charge Point offers TLS 1.2 and that suite."""
    return server_context(
        ca.issue_server(key_type=key_type),
        client_ca=client_ca,
        minimum_version=ssl.TLSVersion.TLSv1_2,
        maximum_version=ssl.TLSVersion.TLSv1_2,
        ciphers=suite,
    )


#: The whitepaper's suites (A00): both ECDSA ones, or both RSA ones; this station offers all four.
SUITES = [
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "ec"),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "ec"),
    ("AES128-GCM-SHA256", "rsa"),
    ("AES256-GCM-SHA384", "rsa"),
]


@pytest.mark.parametrize(("suite", "key_type"), SUITES, ids=[suite for suite, _ in SUITES])
async def test_TC_086_CS_tls_server_side_certificate_valid(
    tmp_path: Path,
    ca: CertificateAuthority,
    servers16: list[DevCsms16],
    stations: list[StationUnderTest],
    suite: str,
    key_type: KeyType,
) -> None:
    """Whitepaper A00 (1.6, profile 2): against a Central System that serves TLS 1.2 with only `suite` and a
    certificate issued under the configured root, the Charge Point completes the handshake, then sends the
    upgrade request with Basic credentials ChargePointId:AuthorizationKey (checked by the Central System),
    and boots."""
    csms = await serve16(servers16, tls12_only(ca, suite, key_type), basic_auth={STATION_ID: PASSWORD})
    url = f"wss://127.0.0.1:{csms.port}/ocpp"
    await start_station(
        stations, tmp_path, csms.port, url=url, security_profile=2, ca_file=str(ca.path), basic_auth_password=PASSWORD
    )
    await csms.wait_for("BootNotification", timeout=15)
    assert [(a.username, a.accepted) for a in csms.auth_attempts] == [(STATION_ID, True)]
    assert csms.connections[-1].peer_certificate is None  # profile 2: no client certificate


async def test_TC_087_CS_tls_client_side_certificate_valid(
    tmp_path: Path, ca: CertificateAuthority, servers16: list[DevCsms16], stations: list[StationUnderTest]
) -> None:
    """Whitepaper A00 (1.6, profile 3): the Charge Point's own certificate (its key made by the station, the
    CSR signed by the Central System's CA through ExtendedTriggerMessage / CertificateSigned) is presented
    to a Central System that requires one and speaks TLS 1.2 only: an X.509 certificate with a serial
    number, its subject's commonName the Charge Point's identity, an EC key of at least 224 bits or an RSA
    key of at least 2048 bits; no password is sent."""
    plain = await serve16(servers16, None, basic_auth={STATION_ID: PASSWORD})
    port = plain.port
    await start_station(stations, tmp_path, port, basic_auth_password=PASSWORD)
    await plain.wait_for("BootNotification", timeout=15)
    install = call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=pem(ca.cert))
    assert (await plain.call(STATION_ID, install)).status == "Accepted"
    trigger = call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
    assert (await plain.call(STATION_ID, trigger)).status == "Accepted"
    csr = x509.load_pem_x509_csr((await plain.wait_for("SignCertificate", timeout=15))["csr"].encode())
    signed = sign_csr(ca, csr)
    assert (await plain.call(STATION_ID, call.CertificateSigned(certificate_chain=pem(signed)))).status == "Accepted"
    raise_to_3 = call.ChangeConfiguration(key="SecurityProfile", value="3")
    assert (await plain.call(STATION_ID, raise_to_3)).status == "Accepted"
    await plain.stop()
    secure = await serve16(servers16, tls12_only(ca, "ECDHE-ECDSA-AES128-GCM-SHA256", "ec", client_ca=ca), port)
    await secure.wait_connected(STATION_ID, timeout=20)
    record = secure.connections[-1]
    assert record.username is None  # profile 3: the certificate is the credential
    assert record.peer_certificate is not None
    presented = x509.load_der_x509_certificate(record.peer_certificate)
    assert presented == signed
    assert presented.serial_number > 0
    [common_name] = presented.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert common_name.value == record.station == STATION_ID
    key = presented.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        assert key.curve.key_size >= 224
    else:
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048
