"""The OCPP 1.6 OCTT connection-security cases (security whitepaper edition 3, A00/A01): Basic authentication,
the Central System's TLS certificate, the Charge Point's client certificate. Each runs the real daemon
speaking 1.6 against a loopback server with certificates made in the test; what the OCTT inspects (the
Authorization header, the TLS version and suite, the client certificate) is read by the test itself."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request
from websockets.typing import Subprotocol

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings
from tests.tls_certs import CertificateAuthority, TestPki

#: A 20-byte password that is not text on purpose, and its hex spelling, the AuthorizationKey a Central
#: System sends.
KEY_BYTES = b"\x00\xff\x10\xe2" + b"OCA_OCTT_admin_t"
HEX_KEY = KEY_BYTES.hex()


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return TestPki(tmp_path / "pki").ca("Test Central System Root")


@pytest.fixture
async def stations() -> AsyncIterator[list[StationUnderTest]]:
    running: list[StationUnderTest] = []
    yield running
    for sut in running:
        await sut.stop()


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
