"""Start-up time, GetVariables round trips and idle RSS of the daemon.

- start-up: process start -> BootNotification received by the CSMS (median of 5 cold starts), and the
  CPU time the daemon had used by then
- GetVariables round trip with 1 and 50 items, p50/p99 over 1000 calls, measured from the CSMS side
  (the dev CSMS on the ocpp library, and a bare websocket server sending the same frames), next to a
  bare websocket echo round trip on the same loopback
- daemon RSS when idle after boot
- OCPP 1.6J: GetConfiguration round trips (1 key, every key) from the 1.6 dev CSMS, next to GetVariables,
  and the 1.6 station's start-up time and idle RSS
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

from harness import STATION, config, proc_cpu_s, proc_status_kb, start_station, stop_station
from ocpp.v16 import call as call16
from ocpp.v201 import call
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from evse.daemon import DEFINITIONS_DIR
from evse.devcsms.server import DevCsms
from evse.devcsms.server16 import DevCsms16
from evse.devicemodel.definitions import AttributeType, Mutability
from evse.devicemodel.loader import load_definitions

CALLS = 1000
STARTS = 5


def readable_variables(count: int) -> list[dict[str, Any]]:
    items = []
    for d in load_definitions(DEFINITIONS_DIR, [(1, [1])]):
        actual = next((a for a in d.attributes if a.type is AttributeType.ACTUAL), None)
        if actual is None or actual.mutability is Mutability.WRITE_ONLY:
            continue
        component: dict[str, Any] = {"name": d.component.name}
        if d.component.instance:
            component["instance"] = d.component.instance
        if d.component.evse_id is not None:
            component["evse"] = {"id": d.component.evse_id}
            if d.component.connector_id is not None:
                component["evse"]["connectorId"] = d.component.connector_id
        variable: dict[str, Any] = {"name": d.variable.name}
        if d.variable.instance:
            variable["instance"] = d.variable.instance
        items.append({"component": component, "variable": variable})
        if len(items) == count:
            break
    return items


async def startup(tmp: Path) -> tuple[float, float]:
    """Medians of (seconds to the BootNotification at the CSMS, CPU seconds the daemon used until then)."""
    times, cpu = [], []
    for run in range(STARTS):
        csms = DevCsms()
        port = await csms.start()
        state = tmp / f"start{run}"
        state.mkdir()
        config_file = config(state, port)
        started = time.monotonic()
        proc = await start_station(config_file)
        await csms.wait_for("BootNotification", timeout=30)
        cpu.append(proc_cpu_s(proc.pid))
        boot = next(f for f in csms.log if f.action == "BootNotification")
        times.append(boot.monotonic - started)
        await stop_station(proc)
        await csms.stop()
    return statistics.median(times), statistics.median(cpu)


async def round_trips(tmp: Path) -> tuple[dict[int, list[float]], int]:
    csms = DevCsms()
    port = await csms.start()
    state = tmp / "rt"
    state.mkdir()
    proc = await start_station(config(state, port))
    await csms.wait_for("BootNotification", timeout=30)
    await csms.wait_for("StatusNotification", timeout=30)
    await asyncio.sleep(2.0)
    rss_kb = proc_status_kb(proc.pid, "VmRSS")
    results: dict[int, list[float]] = {}
    for size in (1, 50):
        items = readable_variables(size)
        samples = []
        for _ in range(CALLS):
            t0 = time.perf_counter()
            await csms.call(STATION, call.GetVariables(get_variable_data=_snake(items)))
            samples.append(time.perf_counter() - t0)
        results[size] = samples
    await stop_station(proc)
    await csms.stop()
    return results, rss_kb


async def round_trips16(tmp: Path) -> tuple[dict[str, list[float]], int, float]:
    """GetConfiguration with one key and with none (every key) from the 1.6 dev CSMS; the 1.6 station's
    idle RSS and its process start -> BootNotification (one start)."""
    csms = DevCsms16()
    port = await csms.start()
    state = tmp / "rt16"
    state.mkdir()
    started = time.monotonic()
    proc = await start_station(config(state, port, "1.6"))
    await csms.wait_for("BootNotification", timeout=30)
    boot = next(f for f in csms.log if f.action == "BootNotification")
    boot_s = boot.monotonic - started
    await csms.wait_for("StatusNotification", timeout=30)
    await asyncio.sleep(2.0)
    rss_kb = proc_status_kb(proc.pid, "VmRSS")
    results: dict[str, list[float]] = {}
    for name, keys in (("1 key", ["HeartbeatInterval"]), ("every key", None)):
        samples = []
        for _ in range(CALLS):
            t0 = time.perf_counter()
            await csms.call(STATION, call16.GetConfiguration(key=keys))
            samples.append(time.perf_counter() - t0)
        results[name] = samples
    await stop_station(proc)
    await csms.stop()
    return results, rss_kb, boot_s


def _snake(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The ocpp library converts snake_case keys to camelCase on the wire.
    out = []
    for item in items:
        component = dict(item["component"])
        if "evse" in component and "connectorId" in component["evse"]:
            component["evse"] = {"id": component["evse"]["id"], "connector_id": component["evse"]["connectorId"]}
        out.append({"component": component, "variable": item["variable"]})
    return out


async def raw_round_trips(tmp: Path) -> tuple[dict[int, list[float]], int]:
    """The same GetVariables from a bare websocket server (no OCPP library on the CSMS side): what the
    station itself costs, without the ocpp library's own validation and conversions. Also returns how
    many answers were not a CALLRESULT (a CALLERROR would make the figure meaningless)."""
    answers = {
        "BootNotification": {"currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"},
        "Heartbeat": {"currentTime": "2026-01-01T00:00:00Z"},
    }
    ready: asyncio.Queue[Any] = asyncio.Queue()

    async def handler(ws: Any) -> None:
        with contextlib.suppress(ConnectionClosed):  # the station is terminated at the end
            await answer_station(ws)

    async def answer_station(ws: Any) -> None:
        booted = False
        async for message in ws:
            frame = json.loads(message)
            if frame[0] == 2:
                await ws.send(json.dumps([3, frame[1], answers.get(frame[2], {})]))
                if frame[2] == "StatusNotification" and not booted:
                    booted = True
                    await ready.put(ws)
            else:
                await ready.put(frame)

    results: dict[int, list[float]] = {}
    errors = 0
    async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp2.0.1")]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        state = tmp / "raw"
        state.mkdir()
        proc = await start_station(config(state, port))
        ws = await asyncio.wait_for(ready.get(), 30)
        for size in (1, 50):
            text = json.dumps([2, "b", "GetVariables", {"getVariableData": readable_variables(size)}])
            samples = []
            for _ in range(CALLS):
                t0 = time.perf_counter()
                await ws.send(text)
                answer = await ready.get()
                samples.append(time.perf_counter() - t0)
                errors += answer[0] != 3
            results[size] = samples
        await stop_station(proc)
    return results, errors


async def echo_round_trip() -> list[float]:
    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            payload = '[2,"1","GetVariables",{"getVariableData":[]}]'
            samples = []
            for _ in range(CALLS):
                t0 = time.perf_counter()
                await ws.send(payload)
                await ws.recv()
                samples.append(time.perf_counter() - t0)
            return samples
