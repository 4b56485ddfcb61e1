"""Security profiles 2 and 3 on the wire (OCPP 2.0.1 Part 2 A00): the real daemon against real TLS servers,
with a PKI made in the test. Each bad handshake is refused with its cause, and no password crosses it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import socket
import ssl
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call
from websockets.asyncio.server import ServerConnection, serve

from evse.daemon import build
from evse.devcsms.server import DevCsms
from evse.errors import ConfigError
from evse.ocpp.connection import Backoff, CsmsConnection, Endpoint
from evse.ocpp.rpc import Router
from evse.security.tls import TLS12_CIPHERS, TlsFailure
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings
from tests.tls_certs import CertificateAuthority, Issued, TestPki, server_context

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki(tmp_path / "pki")


@pytest.fixture
def root(pki: TestPki) -> CertificateAuthority:
    return pki.ca("CSMS Root")


@pytest.fixture
def station_ca(pki: TestPki) -> CertificateAuthority:
    return pki.ca("Station CA")


StartCsms = Callable[[ssl.SSLContext | None], Awaitable[DevCsms]]


@pytest.fixture
async def start_csms() -> AsyncIterator[StartCsms]:
    servers: list[DevCsms] = []

    async def start(context: ssl.SSLContext | None) -> DevCsms:
        server = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
        await server.start(ssl=context)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


def tls_settings(tmp_path: Path, port: int, profile: int, ca: CertificateAuthority, client: Issued | None) -> Any:
    csms: dict[str, Any] = {"url": f"wss://127.0.0.1:{port}/ocpp", "security_profile": profile, "ca_file": str(ca.path)}
    if profile == 2:
        csms["basic_auth_password"] = PASSWORD
    if client is not None:
        csms |= {"client_cert": str(client.cert_path), "client_key": str(client.key_path)}
    return station_settings(tmp_path, port, csms=csms)


async def start_station(stations: list[StationUnderTest], settings: Any) -> StationUnderTest:
    sut = StationUnderTest(settings)
    stations.append(sut)
    await sut.start()
    return sut


async def eventually(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def refusal(sut: StationUnderTest, timeout: float = 15.0) -> TlsFailure:
    """The classified cause of the first failed TLS attempt."""
    await eventually(lambda: sut.d.connection.last_tls_failure is not None, timeout)
    failure = sut.d.connection.last_tls_failure
    assert failure is not None
    return failure.failure


async def test_TC_A_04_CS_profile_2_connects_over_tls_and_boots(
    tmp_path: Path, root: CertificateAuthority, start_csms: StartCsms, stations: list[StationUnderTest]
) -> None:
    """A00.FR.3xx: profile 2 is TLS (server certificate checked against the CSMS root) plus Basic auth."""
    csms = await start_csms(server_context(root.issue_server()))
    await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await csms.wait_for("BootNotification", timeout=10)
    assert csms.auth_attempts and csms.auth_attempts[-1].accepted
    assert csms.connections[-1].username == STATION_ID


async def test_profile_2_trusts_a_root_installed_in_state_dir(
    tmp_path: Path, pki: TestPki, root: CertificateAuthority, start_csms: StartCsms, stations: list[StationUnderTest]
) -> None:
    """A CSMS root installed later (state_dir/certs/csms_roots/*.pem) is trusted beside the factory ca_file."""
    installed = pki.ca("Installed Root")
    settings = tls_settings(tmp_path, 0, 2, root, None)
    roots = settings.state_dir / "certs" / "csms_roots"
    roots.mkdir(parents=True)
    (roots / "installed.pem").write_bytes(installed.path.read_bytes())
    csms = await start_csms(server_context(installed.issue_server()))
    settings = settings.model_copy(
        update={"csms": settings.csms.model_copy(update={"url": f"wss://127.0.0.1:{csms.port}/ocpp"})}
    )
    await start_station(stations, settings)
    await csms.wait_for("BootNotification", timeout=10)


@pytest.mark.parametrize("tls13", [True, False], ids=["tls1.3", "tls1.2"])
async def test_TC_A_07_CS_profile_3_presents_the_client_certificate(
    tmp_path: Path,
    root: CertificateAuthority,
    station_ca: CertificateAuthority,
    stations: list[StationUnderTest],
    tls13: bool,
) -> None:
    """A00.FR.4xx: profile 3 is mutual TLS; the server sees the station certificate (CN = identity), no password."""
    seen: list[dict[str, Any]] = []
    headers: list[str | None] = []

    async def handler(websocket: ServerConnection) -> None:
        seen.append(websocket.transport.get_extra_info("peercert"))
        assert websocket.request is not None
        headers.append(websocket.request.headers.get("Authorization"))
        await websocket.wait_closed()

    context = server_context(
        root.issue_server(),
        client_ca=station_ca,
        maximum_version=None if tls13 else ssl.TLSVersion.TLSv1_2,
    )
    async with serve(handler, "127.0.0.1", 0, ssl=context, subprotocols=["ocpp2.0.1"]) as server:  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
        client = station_ca.issue_client(STATION_ID)
        sut = await start_station(stations, tls_settings(tmp_path, port, 3, root, client))
        await asyncio.wait_for(sut.d.connection.connected.wait(), 10)
        assert seen, "the server saw no connection"
        subject = dict(item for rdn in seen[0]["subject"] for item in rdn)
        assert subject["commonName"] == STATION_ID
        assert headers == [None]  # profile 3 authenticates by certificate only
        await sut.stop()


async def test_TC_A_07_CS_profile_3_boots_against_the_dev_csms(
    tmp_path: Path,
    root: CertificateAuthority,
    station_ca: CertificateAuthority,
    stations: list[StationUnderTest],
) -> None:
    """Profile 3 end to end: mutual TLS, no Basic auth, BootNotification accepted."""
    csms = DevCsms(boot_interval=300)  # no basic_auth: the client certificate is the credential
    await csms.start(ssl=server_context(root.issue_server(), client_ca=station_ca))
    try:
        client = station_ca.issue_client(STATION_ID)
        await start_station(stations, tls_settings(tmp_path, csms.port, 3, root, client))
        await csms.wait_for("BootNotification", timeout=10)
        assert csms.connections[-1].username is None
    finally:
        for sut in stations:
            await sut.stop()
        await csms.stop()


def test_client_context_offers_tls_1_2_plus_and_only_the_spec_suites(
    root: CertificateAuthority, station_ca: CertificateAuthority
) -> None:
    """A00: TLS 1.2 or newer; under TLS 1.2 only the suites listed for a Charging Station; the CSMS
    certificate and its host name are verified."""
    client = station_ca.issue_client(STATION_ID)
    endpoint = Endpoint(
        url="wss://127.0.0.1:1/ocpp",
        identity=STATION_ID,
        security_profile=3,
        ca_file=str(root.path),
        client_cert=str(client.cert_path),
        client_key=str(client.key_path),
    )
    context = endpoint.ssl_context()
    assert context is not None
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == set(TLS12_CIPHERS)
    # Only the configured roots are trusted, not the operating system's store.
    subjects = [dict(item for rdn in c["subject"] for item in rdn) for c in context.get_ca_certs()]
    assert [s["commonName"] for s in subjects] == ["CSMS Root"]


def test_profile_3_without_client_certificate_is_a_config_error(tmp_path: Path, root: CertificateAuthority) -> None:
    """A00: profile 3 needs the station's certificate (the YAML's, or one installed in state_dir);
    refused at start-up, not at the CSMS."""
    with pytest.raises(ConfigError, match="security_profile 3 needs client_cert and client_key, or a station"):
        build(tls_settings(tmp_path, 1, 3, root, None))


@pytest.mark.parametrize(
    ("profile", "url"),
    [(2, "ws://127.0.0.1:1/ocpp"), (3, "ws://127.0.0.1:1/ocpp"), (1, "wss://127.0.0.1:1/ocpp")],
)
def test_no_silent_downgrade_scheme_must_fit_profile(
    root: CertificateAuthority, station_ca: CertificateAuthority, profile: int, url: str
) -> None:
    """Never a downgrade: an endpoint whose scheme does not fit its profile (e.g. a network profile slot)
    raises instead of connecting without TLS."""
    client = station_ca.issue_client(STATION_ID)
    endpoint = Endpoint(
        url=url,
        identity=STATION_ID,
        security_profile=profile,
        password=PASSWORD,
        ca_file=str(root.path),
        client_cert=str(client.cert_path),
        client_key=str(client.key_path),
    )
    with pytest.raises(ConfigError, match=r"needs a wss?:// url"):
        endpoint.ssl_context()


async def test_profile_2_with_a_ws_url_never_connects_in_clear(
    root: CertificateAuthority, start_csms: StartCsms, caplog: pytest.LogCaptureFixture
) -> None:
    """A profile 2 endpoint with a ws:// URL (as a bad network profile slot could give) is refused before any
    byte is sent: the plain CSMS never sees a connection, the log says why in one line."""
    csms = await start_csms(None)
    endpoint = Endpoint(
        url=f"ws://127.0.0.1:{csms.port}/ocpp",
        identity=STATION_ID,
        security_profile=2,
        password=PASSWORD,
        ca_file=str(root.path),
    )

    async def on_connected() -> None:
        pass

    connection = CsmsConnection(
        lambda: endpoint,
        Router(),
        message_timeout=lambda: 5.0,
        backoff=lambda: Backoff(wait_minimum=0, random_range=0, repeat_times=0),
        ping_interval=lambda: 0.0,
        on_connected=on_connected,
        on_disconnected=lambda: None,
    )
    caplog.set_level(logging.ERROR, logger="evse.ocpp.connection")
    task = asyncio.create_task(connection.run())
    try:
        await eventually(lambda: connection.failures >= 3, 10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert csms.connections == []
    assert "security_profile 2 needs a wss:// url" in caplog.text


async def assert_refused(
    sut: StationUnderTest, csms: DevCsms, expected: TlsFailure, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="evse.ocpp.connection")
    assert await refusal(sut) is expected
    lines = [r.getMessage() for r in caplog.records if "csms connect failed" in r.getMessage()]
    assert lines and expected.text in lines[0], lines
    assert PASSWORD not in caplog.text
    assert csms.auth_attempts == []  # the Basic auth header never reached the server
    assert not csms.connected(STATION_ID)


async def test_TC_A_05_CS_unknown_ca_refused(
    tmp_path: Path,
    pki: TestPki,
    root: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A00.FR.3xx: a CSMS certificate not issued by an installed root is refused (InvalidCsmsCertificate)."""
    csms = await start_csms(server_context(pki.ca("Rogue Root").issue_server()))
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await assert_refused(sut, csms, TlsFailure.UNKNOWN_CA, caplog)
    assert TlsFailure.UNKNOWN_CA.security_event == "InvalidCsmsCertificate"
    await eventually(lambda: sut.d.connection.failures >= 2, 15)  # backs off and tries again, as before
    assert csms.auth_attempts == []


@pytest.mark.parametrize(
    ("window", "expected"),
    [((-3 * DAY, -DAY), TlsFailure.CERT_EXPIRED), ((DAY, 3 * DAY), TlsFailure.CERT_NOT_YET_VALID)],
    ids=["expired", "not-yet-valid"],
)
async def test_TC_A_05_CS_server_certificate_out_of_validity_refused(
    tmp_path: Path,
    root: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
    window: tuple[datetime.timedelta, datetime.timedelta],
    expected: TlsFailure,
) -> None:
    server = root.issue_server(not_before=NOW + window[0], not_after=NOW + window[1])
    csms = await start_csms(server_context(server))
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await assert_refused(sut, csms, expected, caplog)


async def test_TC_A_05_CS_server_certificate_for_another_host_refused(
    tmp_path: Path,
    root: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The CSMS certificate must name the URL's host (check_hostname)."""
    csms = await start_csms(server_context(root.issue_server(("csms.example.net", "127.0.0.2"))))
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await assert_refused(sut, csms, TlsFailure.HOSTNAME_MISMATCH, caplog)


def _tls11_context(server: Issued) -> ssl.SSLContext:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = server_context(
            server,
            minimum_version=ssl.TLSVersion.TLSv1,
            maximum_version=ssl.TLSVersion.TLSv1_1,
            ciphers="DEFAULT:@SECLEVEL=0",
        )
    return context


async def test_TC_A_06_CS_server_limited_to_tls_1_1_refused(
    tmp_path: Path,
    root: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A00.FR.3xx: TLS 1.2 or newer only (InvalidTLSVersion)."""
    try:
        context = _tls11_context(root.issue_server())
    except ssl.SSLError as exc:
        pytest.skip(f"the local OpenSSL cannot serve TLS 1.1: {exc}")
    csms = await start_csms(context)
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await assert_refused(sut, csms, TlsFailure.TLS_VERSION, caplog)
    assert TlsFailure.TLS_VERSION.security_event == "InvalidTLSVersion"


async def test_no_common_cipher_suite_refused(
    tmp_path: Path,
    root: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A00: under TLS 1.2 the station offers only the spec's suites; a CSMS with none of them is refused."""
    context = server_context(
        root.issue_server(), maximum_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-CHACHA20-POLY1305"
    )
    csms = await start_csms(context)
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await assert_refused(sut, csms, TlsFailure.NO_SHARED_CIPHER, caplog)
    assert TlsFailure.NO_SHARED_CIPHER.security_event == "InvalidTLSCipherSuite"


async def test_rsa_csms_certificate_with_the_spec_rsa_suite(
    tmp_path: Path, pki: TestPki, start_csms: StartCsms, stations: list[StationUnderTest]
) -> None:
    """A CSMS with an RSA certificate limited to TLS 1.2 agrees on one of the spec's TLS_RSA AES-GCM suites."""
    rsa_root = pki.ca("RSA Root", key_type="rsa")
    # Python's default server ciphers exclude RSA key exchange; a CSMS that allows it is configured so.
    context = server_context(
        rsa_root.issue_server(), maximum_version=ssl.TLSVersion.TLSv1_2, ciphers="AES256-GCM-SHA384:AES128-GCM-SHA256"
    )
    csms = await start_csms(context)
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, rsa_root, None))
    await csms.wait_for("BootNotification", timeout=10)
    socket = sut.d.connection._socket
    assert socket is not None
    assert socket.transport.get_extra_info("cipher")[0] in TLS12_CIPHERS


@pytest.mark.parametrize("tls13", [True, False], ids=["tls1.3", "tls1.2"])
async def test_client_certificate_refused_by_the_csms(
    tmp_path: Path,
    pki: TestPki,
    root: CertificateAuthority,
    station_ca: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
    tls13: bool,
) -> None:
    """Profile 3 with a certificate the CSMS does not trust: refused, named (FailedToAuthenticateAtCsms),
    never 'did not receive a valid HTTP response' nor an empty line."""
    context = server_context(
        root.issue_server(), client_ca=station_ca, maximum_version=None if tls13 else ssl.TLSVersion.TLSv1_2
    )
    csms = await start_csms(context)
    stranger = pki.ca("Other Station CA").issue_client(STATION_ID)
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 3, root, stranger))
    await assert_refused(sut, csms, TlsFailure.CLIENT_CERT_REFUSED, caplog)


async def test_profile_2_against_a_csms_requiring_a_client_certificate(
    tmp_path: Path,
    root: CertificateAuthority,
    station_ca: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A CSMS that wants mutual TLS refuses a profile 2 station: the cause says a certificate is missing."""
    csms = await start_csms(server_context(root.issue_server(), client_ca=station_ca))
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await assert_refused(sut, csms, TlsFailure.CLIENT_CERT_REQUIRED, caplog)


async def test_wss_url_on_a_plain_port_is_named(
    tmp_path: Path,
    root: CertificateAuthority,
    start_csms: StartCsms,
    stations: list[StationUnderTest],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wss:// URL pointing at a plain websocket port: named as such, not as a certificate problem."""
    csms = await start_csms(None)
    sut = await start_station(stations, tls_settings(tmp_path, csms.port, 2, root, None))
    await assert_refused(sut, csms, TlsFailure.NOT_TLS, caplog)


async def test_missing_ca_file_is_named_in_the_log(
    tmp_path: Path, root: CertificateAuthority, stations: list[StationUnderTest], caplog: pytest.LogCaptureFixture
) -> None:
    """A CSMS root file that is not there: the station refuses to start with one line naming the file (the
    same check as `evse check-config`), never a bare '[Errno 2]' later at connect time."""
    settings = tls_settings(tmp_path, 1, 2, root, None)
    missing = tmp_path / "nowhere" / "root.pem"
    settings = settings.model_copy(update={"csms": settings.csms.model_copy(update={"ca_file": missing})})
    with pytest.raises(ConfigError) as refused:
        await start_station(stations, settings)
    assert str(refused.value).count("\n") == 0
    assert f"csms.ca_file: {missing}: no such file" in str(refused.value)


class AlertingTlsServer:
    """A blocking OpenSSL server in a thread. Unlike an asyncio server, which drops the socket, it sends its
    TLS alert before closing, as nginx or a Java CSMS does; the station then names the cause from the alert."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)
                except (ssl.SSLError, OSError) as exc:
                    self.errors.append(exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()


@pytest.mark.parametrize(
    "case",
    [
        "tls1.1",
        "no-common-cipher",
        "client-cert-refused-tls1.2",
        "client-cert-required-tls1.2",
        "client-cert-required-tls1.3",
    ],
)
async def test_refusal_named_from_the_alert_of_a_csms_that_sends_one(
    tmp_path: Path,
    pki: TestPki,
    root: CertificateAuthority,
    station_ca: CertificateAuthority,
    stations: list[StationUnderTest],
    case: str,
) -> None:
    server = root.issue_server()
    client: Issued | None = None
    if case == "tls1.1":
        try:
            context = _tls11_context(server)
        except ssl.SSLError as exc:
            pytest.skip(f"the local OpenSSL cannot serve TLS 1.1: {exc}")
        expected = TlsFailure.TLS_VERSION
    elif case == "no-common-cipher":
        context = server_context(
            server, maximum_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-CHACHA20-POLY1305"
        )
        expected = TlsFailure.NO_SHARED_CIPHER
    elif case == "client-cert-refused-tls1.2":
        context = server_context(server, client_ca=station_ca, maximum_version=ssl.TLSVersion.TLSv1_2)
        client = pki.ca("Other Station CA").issue_client(STATION_ID)
        expected = TlsFailure.CLIENT_CERT_REFUSED
    else:
        # A bare handshake_failure alert under TLS 1.2: the probe tells it from a cipher mismatch.
        top = ssl.TLSVersion.TLSv1_2 if case.endswith("tls1.2") else None
        context = server_context(server, client_ca=station_ca, maximum_version=top)
        expected = TlsFailure.CLIENT_CERT_REQUIRED
    alerting = AlertingTlsServer(context)
    try:
        settings = tls_settings(tmp_path, alerting.port, 3 if client else 2, root, client)
        sut = await start_station(stations, settings)
        assert await refusal(sut) is expected
        assert alerting.errors, "the server saw no failed handshake"
        await sut.stop()
    finally:
        alerting.close()


async def test_a_csms_root_installed_over_the_wire_is_trusted_on_the_next_connection(
    tmp_path: Path, pki: TestPki, root: CertificateAuthority, stations: list[StationUnderTest]
) -> None:
    """M05 then A00: the CSMS installs a new CSMSRootCertificate (InstallCertificate); when the CSMS moves to a
    server certificate of that root, the station, which only had the factory root, connects again."""
    new_root = pki.ca("New CSMS Root")
    first = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await first.start(ssl=server_context(root.issue_server()))
    port = first.port
    sut = await start_station(stations, tls_settings(tmp_path, port, 2, root, None))
    await first.wait_for("BootNotification", timeout=10)
    install = call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=new_root.path.read_text())
    assert (await first.call(STATION_ID, install)).status == "Accepted"
    await first.stop()
    second = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await second.start(port=port, ssl=server_context(new_root.issue_server()))
    try:
        await second.wait_connected(STATION_ID, timeout=20)  # the TLS handshake with the new root passed
        await eventually(lambda: sut.d.connection.is_connected, 10)
    finally:
        await second.stop()
