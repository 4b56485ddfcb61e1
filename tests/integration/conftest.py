"""Integration fixtures: the real daemon (in-process) against the dev CSMS over loopback websockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from evse.config import Settings, parse_settings
from evse.daemon import Daemon, Exit, build
from evse.devcsms.server import DevCsms
from evse.devcsms.server16 import DevCsms16
from tests.tls_certs import CertificateAuthority, TestPki

STATION_ID = "CS001"
PASSWORD = "test-password-0001"


def station_settings(
    tmp_path: Path, port: int, evses: int = 1, ocpp_version: str | None = None, **extra: Any
) -> Settings:
    """The test station's settings; ``ocpp_version="1.6"`` makes it speak OCPP 1.6J (YAML ``csms.ocpp_version``)."""
    csms: dict[str, Any] = {
        "url": f"ws://127.0.0.1:{port}/ocpp",
        "security_profile": 1,
        "basic_auth_password": PASSWORD,
    }
    if ocpp_version is not None:
        csms["ocpp_version"] = ocpp_version
    data: dict[str, Any] = {
        "station": {"id": STATION_ID, "vendor": "TestVendor", "model": "TestModel", "serial": "S1"},
        "csms": csms,
        "board": "sim",
        "evses": [{"id": i, "connectors": [{"id": 1, "type": "cType2"}]} for i in range(1, evses + 1)],
        "state_dir": str(tmp_path / "state"),
        "device_model": {
            "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
            "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
            "OCPPCommCtrlr.MessageTimeout[Default]": 5,
            "TxCtrlr.TxStartPoint": ["EVConnected", "Authorized"],
            "TxCtrlr.TxStopPoint": ["EVConnected", "Authorized"],
            # No clock-aligned meter values unless a test asks: at the default 900 s, a test that crossed a
            # quarter hour got a MeterValueClock Updated among the messages it counted (TC_E_41 in CI, 01:15:00).
            "AlignedDataCtrlr.Interval": 0,
        },
    }
    for key, value in extra.items():
        if key == "device_model":
            data["device_model"].update(value)
        else:
            data[key] = value
    return parse_settings(data, "test.yaml")


class StationUnderTest:
    """One daemon run as an asyncio task; `restart` builds a fresh one on the same state_dir."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.daemon: Daemon | None = None
        self.task: asyncio.Task[Exit] | None = None

    async def start(self) -> Daemon:
        self.daemon = build(self.settings)
        self.task = asyncio.create_task(self.daemon.run())
        return self.daemon

    async def stop(self) -> Exit | None:
        if self.task is None:
            return None
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            result = await self.task
            return result
        return None

    async def wait_exit(self, timeout: float = 10.0) -> Exit:
        assert self.task is not None
        async with asyncio.timeout(timeout):
            return await self.task

    @property
    def d(self) -> Daemon:
        assert self.daemon is not None
        return self.daemon


@pytest.fixture
async def csms() -> AsyncIterator[DevCsms]:
    server = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await server.start()
    yield server
    await server.stop()


Factory = Callable[..., Awaitable[StationUnderTest]]


@contextlib.asynccontextmanager
async def station_factory(tmp_path: Path, port: int, ocpp_version: str | None = None) -> AsyncIterator[Factory]:
    """Builds stations against the CSMS on ``port``; every one built is stopped on exit."""
    stations: list[StationUnderTest] = []

    async def factory(start: bool = True, **extra: Any) -> StationUnderTest:
        sut = StationUnderTest(station_settings(tmp_path, port, ocpp_version=ocpp_version, **extra))
        stations.append(sut)
        if start:
            await sut.start()
        return sut

    try:
        yield factory
    finally:
        for sut in stations:
            await sut.stop()


@pytest.fixture
async def make_station(tmp_path: Path, csms: DevCsms) -> AsyncIterator[Factory]:
    async with station_factory(tmp_path, csms.port) as factory:
        yield factory


@pytest.fixture
async def station(make_station: Factory, csms: DevCsms) -> StationUnderTest:
    """A station that has booted (Accepted) and reported its connectors."""
    sut: StationUnderTest = await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


@pytest.fixture
async def csms16() -> AsyncIterator[DevCsms16]:
    """The OCPP 1.6J dev CSMS, with basic auth (profile 1) for the test station like ``csms``."""
    server = DevCsms16(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_station16(tmp_path: Path, csms16: DevCsms16) -> AsyncIterator[Factory]:
    """``make_station`` for a station speaking OCPP 1.6J to ``csms16``."""
    async with station_factory(tmp_path, csms16.port, ocpp_version="1.6") as factory:
        yield factory


@pytest.fixture
async def station16(make_station16: Factory, csms16: DevCsms16) -> StationUnderTest:
    """A 1.6J station that has booted (Accepted) and reported its connectors."""
    sut: StationUnderTest = await make_station16()
    await csms16.wait_for("BootNotification", timeout=10)
    await csms16.wait_for("StatusNotification", timeout=10)
    return sut


# ---- TLS and security-profile tests: their Central System root, the stations and 1.6 CSMSs they start ------
@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return TestPki(tmp_path / "pki").ca("Test Central System Root")


@pytest.fixture
async def stations() -> AsyncIterator[list[StationUnderTest]]:
    """Every station a test starts with its own settings, stopped at its end."""
    running: list[StationUnderTest] = []
    yield running
    for sut in running:
        await sut.stop()


@pytest.fixture
async def servers16() -> AsyncIterator[list[DevCsms16]]:
    """Every 1.6 Central System a test starts, stopped at its end."""
    started: list[DevCsms16] = []
    yield started
    for server in started:
        await server.stop()
