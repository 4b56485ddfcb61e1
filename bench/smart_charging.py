"""Smart charging: the composite schedule with 30 stacked profiles on 2 EVSEs, and how long a new limit
takes to reach the pilot.

- composite, pure: composite_schedule() for a day (86,400 s) of EVSE 1, EVSE 2 and EVSE 0 with 30
  profiles (4 station max, 26 TxDefault on the two EVSEs, Absolute, Daily and Weekly recurring,
  stacked over 10 levels, A and W, 4-8 periods each)
- composite on the wire: GetCompositeSchedule round trip from the dev CSMS to the daemon (a subprocess,
  simulated board) holding the same 30 profiles
- SetChargingProfile -> new pilot offer: from the moment the CSMS sends the CALL until the simulated
  pilot offers the new current (polled on the daemon's control socket every ~1 ms), during a session
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from harness import STATION, start_station, stop_station
from ocpp.v201 import call

from evse import control
from evse.devcsms.server import DevCsms
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import profile_from_201
from evse.smartcharging.composite import EvseFacts, Sources, composite_schedule
from evse.smartcharging.model import InstalledProfile, RateUnit
from tests.charging_profiles import snake, wire_profile

PROFILES = 30
COMPOSITES = 200  # pure computations per EVSE
WIRE_CALLS = 100
LIMIT_CHANGES = 30
DAY = 86_400


@dataclass(frozen=True)
class SmartChargingResult:
    pure_s: dict[int, list[float]]  # evse_id -> seconds per composite
    periods: dict[int, int]  # evse_id -> periods in the composite
    wire_s: list[float]
    offer_s: list[float]


def stacked_profiles(now: datetime) -> list[tuple[int, dict[str, Any]]]:
    """(evse_id, profile as the CSMS sends it): 30 profiles whose stack levels and periods overlap and
    whose starts, ends and recurrences fall inside the day asked for."""
    made: list[tuple[int, dict[str, Any]]] = []
    for index in range(PROFILES):
        profile_id = index + 1
        steps = 3 + index % 5
        periods = [(0, 32.0 - index % 7)] + [
            (1800 * (k + 1) + 60 * index, 6.0 + (index + k) % 20) for k in range(steps)
        ]
        if index < 4:
            start = now - timedelta(minutes=30) + timedelta(hours=5 * index)
            station_max = [(t, v + 10) for t, v in periods]
            made.append(
                (0, wire_profile(profile_id, "ChargingStationMaxProfile", station_max, stack_level=index, start=start))
            )
            continue
        kind = ("Absolute", "Recurring", "Recurring")[index % 3]
        options: dict[str, Any] = {"stack_level": index // 2 % 10, "kind": kind}
        if kind == "Absolute":
            options["start"] = now - timedelta(minutes=30) + timedelta(minutes=37 * index)
            options["duration"] = 3 * 3600 + 600 * index
        elif index % 2:
            options.update(recurrency="Daily", duration=5 * 3600)
            options["start"] = now - timedelta(days=1) + timedelta(minutes=41 * index)
        else:
            options.update(recurrency="Weekly", duration=4 * 3600)
            options["start"] = now - timedelta(days=7) + timedelta(minutes=43 * index)
        # Stack levels 0-9 serve twice on each EVSE: the pairs hold in turn (validTo / validFrom 12 h on).
        if index < 10:
            options["valid_to"] = now + timedelta(hours=12)
        elif index >= 24:
            options["valid_from"] = now + timedelta(hours=12)
        if index % 4 == 0:
            options["unit"] = "W"
            periods = [(t, v * 690) for t, v in periods]
        made.append(((1, 2)[index % 2], wire_profile(profile_id, "TxDefaultProfile", periods, **options)))
    return made


def pure_composites(now: datetime) -> tuple[dict[int, list[float]], dict[int, int]]:
    installed = [
        InstalledProfile(e, profile_from_201(m.ChargingProfileType.model_validate(p))) for e, p in stacked_profiles(now)
    ]
    evses = {1: EvseFacts(1, 32.0), 2: EvseFacts(2, 32.0, phases=1)}
    times: dict[int, list[float]] = {}
    periods: dict[int, int] = {}
    for evse_id in (1, 2, 0):
        samples = []
        for _ in range(COMPOSITES):
            sources = Sources(installed, [], evses)  # fresh each time: no cache carried over
            began = time.perf_counter()
            result = composite_schedule(sources, evse_id, now, DAY, RateUnit.A)
            samples.append(time.perf_counter() - began)
        times[evse_id], periods[evse_id] = samples, len(result)
    return times, periods


def two_evse_config(tmp: Path, port: int) -> Path:
    path = tmp / "smart.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "station": {"id": STATION, "vendor": "Bench", "model": "Bench"},
                "csms": {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 0},
                "board": "sim",
                "evses": [{"id": i, "connectors": [{"id": 1, "type": "cType2"}]} for i in (1, 2)],
                "state_dir": str(tmp / "smart-state"),
                "log_level": "WARNING",
                "device_model": {"TxCtrlr.TxStartPoint": ["EVConnected", "Authorized"]},
            }
        )
    )
    return path


async def sim(socket: Path, command: str, **fields: Any) -> dict[str, Any]:
    return await asyncio.to_thread(control.request, socket, {"cmd": f"sim.{command}", "evse": 1, **fields})


async def wire(tmp: Path) -> tuple[list[float], list[float]]:
    csms = DevCsms(boot_interval=300)
    await csms.start()
    config = two_evse_config(tmp, csms.port)
    socket = tmp / "smart-state" / "control.sock"
    proc = await start_station(config)
    try:
        await csms.wait_for("BootNotification", timeout=20)
        await csms.wait_for("StatusNotification", timeout=20)
        now = datetime.now(UTC)
        for evse_id, profile in stacked_profiles(now):
            answer = await csms.call(STATION, call.SetChargingProfile(evse_id=evse_id, charging_profile=snake(profile)))
            assert answer.status == "Accepted", (profile["id"], answer)
        wire_s = []
        for index in range(WIRE_CALLS):
            began = time.perf_counter()
            await csms.call(STATION, call.GetCompositeSchedule(duration=DAY, evse_id=(1, 2, 0)[index % 3]))
            wire_s.append(time.perf_counter() - began)
        # A session on EVSE 1, then its TxProfile alternates between two limits under every other limit.
        await sim(socket, "plug")
        await sim(socket, "swipe", id_token="AABBCCDD", type="ISO14443")
        await sim(socket, "ev-state", state="C")
        started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=10)
        tx_id = started["transactionInfo"]["transactionId"]
        offer_s = []
        for index in range(LIMIT_CHANGES):
            amps = 6.0 + index % 2  # below every other profile's limit
            profile = wire_profile(99, "TxProfile", [(0, amps)], kind="Relative", transaction_id=tx_id)
            began = time.perf_counter()
            send = asyncio.ensure_future(
                csms.call(STATION, call.SetChargingProfile(evse_id=1, charging_profile=snake(profile)))
            )
            while (await sim(socket, "status"))["sim"]["offered_current_a"] != amps:  # noqa: ASYNC110 - polled state
                await asyncio.sleep(0.001)
            offer_s.append(time.perf_counter() - began)
            await send
        return wire_s, offer_s
    finally:
        await stop_station(proc)
        await csms.stop()


async def smart_charging(tmp: Path) -> SmartChargingResult:
    pure, periods = pure_composites(datetime.now(UTC).replace(microsecond=0))
    wire_s, offer_s = await wire(tmp)
    return SmartChargingResult(pure, periods, wire_s, offer_s)
