"""Plug & Charge (issue 12): time from CONTRACT on the bridge to AUTHORIZATION back at the module.

The emulated SECC module sends CONTRACT over a python-can virtual bus to the station's CAN bridge driver; the
station asks the dev CSMS on loopback (GetCertificateStatus for each of the chain's two certificates unless
their OCSP answers are cached, then Authorize) and sends AUTHORIZATION back; measured at the module from its
send to the AUTHORIZATION's arrival. Two figures: a new chain each session (OCSP asked: 3 round trips) and the
same chain again (OCSP from the cache: 1 round trip). Each session is a whole one (plug, contract, unplug) so
no state carries over but the cache.

The daemon runs in-process (as in tests/integration); module, station and CSMS share one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.interfaces import HashAlgorithm, OcspRequestData
from evse.config import parse_settings
from evse.daemon import build
from evse.devcsms.server import DevCsms
from hil.emulators.iso15118 import EmulatedSecc

SESSIONS = 100
STATION = "BENCHPNC"
EMAID = "DE8EOCAET5E43X1"


@dataclass(frozen=True)
class PlugAndChargeResult:
    new_chain: list[float]
    cached_chain: list[float]


def _chain(serial: str) -> tuple[OcspRequestData, ...]:
    def entry(name: bytes, serial: str) -> OcspRequestData:
        return OcspRequestData(
            HashAlgorithm.SHA256,
            hashlib.sha256(name).hexdigest(),
            hashlib.sha256(name + b" key").hexdigest(),
            serial,
            "http://ocsp.mo.example/",
        )

    return entry(b"CN=MO Sub-CA 2", serial), entry(b"CN=MO Sub-CA 1", "5157" + serial)


def _settings(tmp: Path, csms_port: int, channel: str) -> Any:
    sim = {"driver": "sim"}
    return parse_settings(
        {
            "station": {"id": STATION, "vendor": "Bench", "model": "Bench"},
            "csms": {"url": f"ws://127.0.0.1:{csms_port}/ocpp", "security_profile": 0},
            "board": {
                "meter": sim,
                "contactor": sim,
                "pilot": sim,
                "lock": sim,
                "rfid": sim,
                "iso15118": {"driver": "can_bridge", "channel": channel, "interface": "virtual"},
            },
            "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
            "state_dir": str(tmp / "pnc-state"),
            "log_level": "WARNING",
        },
        "bench.yaml",
    )


async def _session(daemon: Any, module: EmulatedSecc, chain: tuple[OcspRequestData, ...]) -> float:
    board = daemon.board
    board.plug(1)
    await module.start_session("0A1B2C3D4E5F")
    before = len(module.authorizations)
    started = time.perf_counter()
    await module.present_contract(EMAID, chain)
    await module.wait_until(lambda: len(module.authorizations) > before)
    elapsed = time.perf_counter() - started
    assert module.authorizations[-1].accepted, "the dev CSMS refused the bench's contract"
    await module.stop_session()
    board.unplug(1)
    async with asyncio.timeout(5):
        while daemon.station.has_transaction(1):  # noqa: ASYNC110 - the session's end is state
            await asyncio.sleep(0.001)
    return elapsed


async def contract_to_authorization(tmp: Path) -> PlugAndChargeResult:
    csms = DevCsms(boot_interval=300)
    await csms.start()
    channel = f"bench-pnc-{uuid.uuid4().hex}"
    module = EmulatedSecc.on_can(channel)
    await module.start()
    daemon = build(_settings(tmp, csms.port, channel))
    task = asyncio.create_task(daemon.run())
    try:
        await csms.wait_for("StatusNotification", timeout=20)
        await module.wait_until(lambda: module.hellos_received > 0)
        new = [await _session(daemon, module, _chain(format(i + 1, "x"))) for i in range(SESSIONS)]
        cached = [await _session(daemon, module, _chain("1")) for _ in range(SESSIONS)]
        return PlugAndChargeResult(new, cached)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await module.close()
        await csms.stop()
