"""Security profiles 0, 2 and 3 side by side: the TLS handshake plus websocket upgrade the station does
(its own client SSLContext, in process), and the daemon's start -> BootNotification and idle RSS per profile."""

from __future__ import annotations

import asyncio
import base64
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from harness import STATION, proc_status_kb, start_station, state_dir, stop_station
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from evse.devcsms.server import DevCsms
from evse.devcsms.tls import DevPki
from evse.security.tls import client_context

HANDSHAKES = 50
STARTS = 3
PASSWORD = "bench-password-0001"
HANDSHAKE_ID = "BENCHHS"  # the in-process handshakes connect as another station than the daemon


@dataclass(frozen=True)
class TlsResult:
    profile: int
    handshake_s: float  # median: TCP + TLS + websocket upgrade (+ Basic auth header for 1/2)
    boot_s: float  # median: process start -> BootNotification at the CSMS
    idle_rss_kb: int  # after the boot, connected, idle


def _config(state: Path, pki: DevPki, port: int, profile: int) -> Path:
    scheme = "wss" if profile >= 2 else "ws"
    csms: dict[str, object] = {"url": f"{scheme}://localhost:{port}/ocpp", "security_profile": profile}
    if profile >= 2:
        csms["ca_file"] = str(pki.ca_file)
    if profile == 2:
        csms["basic_auth_password"] = PASSWORD
    if profile == 3:
        csms |= {"client_cert": str(pki.station_cert(STATION)), "client_key": str(pki.station_key(STATION))}
    path = state / "bench.yaml"
    document = {
        "station": {"id": STATION, "vendor": "Bench", "model": "Bench"},
        "csms": csms,
        "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
        "state_dir": str(state_dir(state)),
        "log_level": "WARNING",
    }
    path.write_text(yaml.safe_dump(document))
    return path


async def _handshakes(pki: DevPki, port: int, profile: int) -> float:
    context = None
    if profile >= 2:
        context = client_context(
            profile,
            ca_file=pki.ca_file,
            client_cert=pki.station_cert(STATION) if profile == 3 else None,
            client_key=pki.station_key(STATION) if profile == 3 else None,
        )
    scheme = "wss" if profile >= 2 else "ws"
    credentials = base64.b64encode(f"{HANDSHAKE_ID}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"} if profile == 2 else None
    url = f"{scheme}://localhost:{port}/ocpp/{HANDSHAKE_ID}"
    times = []
    for _ in range(HANDSHAKES):
        started = time.perf_counter()
        async with connect(url, ssl=context, subprotocols=[Subprotocol("ocpp2.0.1")], additional_headers=headers):
            times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _profile(tmp: Path, pki: DevPki, profile: int) -> TlsResult:
    csms = DevCsms(basic_auth={STATION: PASSWORD, HANDSHAKE_ID: PASSWORD} if profile == 2 else None)
    port = await csms.start(ssl=pki.server_context() if profile >= 2 else None)
    try:
        handshake = await _handshakes(pki, port, profile)
        boots, rss = [], []
        for run in range(STARTS):
            state = tmp / f"p{profile}-{run}"
            state.mkdir()
            started = time.monotonic()
            proc = await start_station(_config(state, pki, port, profile))
            await csms.wait_for("BootNotification", station=STATION, timeout=30)
            boot = [f for f in csms.log if f.action == "BootNotification" and f.station == STATION][-1]
            boots.append(boot.monotonic - started)
            await asyncio.sleep(1.0)
            rss.append(proc_status_kb(proc.pid, "VmRSS"))
            await stop_station(proc)
        return TlsResult(profile, handshake, statistics.median(boots), int(statistics.median(rss)))
    finally:
        await csms.stop()


async def tls_profiles(tmp: Path) -> list[TlsResult]:
    pki = DevPki(tmp / "pki")
    pki.create(("localhost", "127.0.0.1"), (STATION,))
    return [await _profile(tmp, pki, profile) for profile in (0, 2, 3)]
