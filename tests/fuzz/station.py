"""The station under fuzz: a real daemon built from a sim config on a temporary state_dir.

Its Router (with every real handler) is served by an RpcSession whose websocket is replaced by a list
that records what the session sends. Nothing runs but the session and what the handlers start.

The station speaks OCPP 2.0.1 or, built with `ocpp_version="1.6"`, 1.6J (YAML `csms.ocpp_version`); the
session, the generators' schemas and hints, and the oracle follow the version the daemon was built with.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evse.daemon import Daemon, build
from evse.devicemodel.definitions import AttributeAddress
from evse.ocpp.rpc import Router, RpcSession, as_reply
from evse.ocpp.v16 import pnc
from evse.ocpp.v16.configuration_keys import load_key_table
from evse.storage import DB_FILENAME
from tests.fuzz.frames import CONFIGURATION_VALUES, Generators
from tests.fuzz.payloads import Hints, PayloadFactory, _nested
from tests.fuzz.versions import V201, FuzzVersion, fuzz_version
from tests.integration.conftest import station_settings

# Values that change by themselves while the station runs, so they are not part of the compared state.
_LIVE = {("ClockCtrlr", "DateTime")}


# A remote start arms a timer of TxCtrlr.EVConnectionTimeOut seconds that withdraws the authorization:
# state changing by itself, which the "invalid frames change nothing" check would blame on whatever batch
# it fires in. The fuzz station sets it beyond any run and the generators never write it.
_FROZEN_VARIABLES = frozenset({"EVConnectionTimeOut"})
_FROZEN_VALUES = {"TxCtrlr.EVConnectionTimeOut": 1_000_000}
# The same variable under 1.6 is the ConnectionTimeOut key.
_FROZEN_KEYS = frozenset({"ConnectionTimeOut"})
# Keys whose accepted change makes the station reconnect, as the 1.6 security whitepaper wants (a new
# AuthorizationKey: reconnect with it; a higher SecurityProfile: reconnect under it). Over the websocket
# that would drop frames in flight, so the websocket run never writes them (as it never sends a valid Reset).
RECONNECTING_KEYS = frozenset({"AuthorizationKey", "SecurityProfile"})
# The 2.0.1 variable whose accepted change reconnects the station (A01: a new Basic-auth password is used at once).
RECONNECTING_VARIABLES = frozenset({"BasicAuthPassword"})


def build_station(tmp: Path, port: int = 9, *, ocpp_version: str | None = None, **extra: Any) -> Daemon:
    """A daemon as the integration tests build it; port 9 (discard) when nothing connects. `ocpp_version`
    "1.6" makes it speak OCPP 1.6J; None keeps the settings' default (2.0.1)."""
    extra["device_model"] = {**_FROZEN_VALUES, **extra.get("device_model", {})}
    if ocpp_version is not None:
        extra["ocpp_version"] = ocpp_version
    return build(station_settings(tmp, port, **extra))


def station_version(daemon: Daemon) -> FuzzVersion:
    """The OCPP version the daemon was built to speak."""
    return fuzz_version(daemon.settings.csms.ocpp_version)


def seeded_generators(
    daemon: Daemon, seed: int, *, no_handler: frozenset[str] = frozenset(), keep_connection: bool = False
) -> Generators:
    """The frame generators for this station, seeded; same seed, same frames. `keep_connection`: nothing
    that makes the station reconnect on purpose (RECONNECTING_VARIABLES, 1.6: RECONNECTING_KEYS)."""
    version = station_version(daemon)
    if version is V201:
        return Generators(
            random.Random(seed),
            sorted(daemon.connection.router.actions),
            hints(daemon),
            no_handler=no_handler,
            targets=device_model_targets(daemon, RECONNECTING_VARIABLES if keep_connection else frozenset()),
        )
    keys = configuration_key_targets(RECONNECTING_KEYS if keep_connection else frozenset())
    return Generators(
        random.Random(seed),
        sorted(daemon.connection.router.actions),
        hints_16(keys),
        no_handler=no_handler,
        targets=keys,
        version=version,
        pnc_vendor=pnc.VENDOR_ID,
        pnc_actions=sorted(pnc.INCOMING),
    )


def guarded_router(router: Router) -> Router:
    """The station's router with Reset answered by its real handler but never carried out: a reset would
    end the run. Every other action goes to its real handler unchanged."""
    guarded = Router()
    for action in sorted(router.actions):
        entry = router.lookup(action)
        assert entry is not None
        request_type, handler = entry
        if action == "Reset":

            async def reset(request: Any, handler: Any = handler) -> Any:
                return as_reply(await handler(request)).payload

            guarded.register(request_type, reset)
        else:
            guarded.register(request_type, handler)
    return guarded


class Capture:
    """Stands in for the websocket: keeps every text the session sends, encoded as websockets would."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, text: str) -> None:
        text.encode("utf-8")  # websockets refuses text that is not Unicode; so must the stand-in
        self.sent.append(text)


def fuzz_session(daemon: Daemon, capture: Capture) -> RpcSession:
    """The station's router served in the station's OCPP version, answers going to `capture`."""
    return RpcSession(
        capture.send,
        guarded_router(daemon.connection.router),
        message_timeout=lambda: 5.0,
        dialect=station_version(daemon).dialect,
    )


def hints(daemon: Daemon) -> Hints:
    """Values that make generated payloads reach deeper into handlers than random text would."""
    names = sorted(
        {d.component.name for d in daemon.dm.definitions()} | {d.variable.name for d in daemon.dm.definitions()}
    )
    return {
        "name": names,
        "evseId": [0, 1, 2],
        "connectorId": [0, 1, 2],
        "idToken": ["TOKEN-1", "04A1B2C3D4", "DEADBEEF"],
        "vendorId": ["org.openchargealliance", "com.example"],
        "attributeValue": ["true", "false", "0", "1", "30", "-1", "Authorized,EVConnected", ""],
        "connectorType": ["cType2", "cCCS2"],
        "expiryDateTime": [_in(minutes) for minutes in (5, 60, 24 * 60, 365 * 24 * 60)],
    }


def hints_16(keys: list[str]) -> Hints:
    """The 1.6 counterpart of `hints`: 1.6 field names, its configuration `keys`, and DataTransfer aimed at
    the Plug & Charge whitepaper's vendorId with `data` that is a valid 2.0.1 request, or not."""
    return {
        "connectorId": [0, 1, 2],
        "idTag": ["TOKEN-1", "04A1B2C3D4", "DEADBEEF"],
        "parentIdTag": ["TOKEN-1", "PARENT-1"],
        "key": keys,
        "value": [value for value in CONFIGURATION_VALUES if len(value) <= 500],  # ChangeConfiguration maxLength
        "vendorId": ["org.openchargealliance", "com.example", pnc.VENDOR_ID, pnc.VENDOR_ID],
        "messageId": [*sorted(pnc.INCOMING), "Authorize", "Bogus"],
        "data": pnc_data(),
        "expiryDate": [_in(minutes) for minutes in (5, 60, 24 * 60, 365 * 24 * 60)],
    }


def configuration_key_targets(leave_out: frozenset[str] = frozenset()) -> list[str]:
    """Every 1.6 configuration key of the station's table but those the fuzz station keeps frozen and
    `leave_out`."""
    return sorted(set(load_key_table()) - _FROZEN_KEYS - leave_out)


def pnc_data() -> list[str]:
    """DataTransfer.data for the Plug & Charge vendorId: each whitepaper request's 2.0.1 payload (valid,
    drawn from the 2.0.1 schemas with a fixed seed), and text that is no such payload: not JSON, the wrong
    JSON, JSON nested past the frame limit."""
    rng = random.Random(15118)
    valid = [
        json.dumps(PayloadFactory(action, rng, version=V201).valid(), separators=(",", ":"))
        for action in sorted(pnc.INCOMING)
        for _ in range(2)
    ]
    invalid = ["", "not json", "null", "{}", "[]", '{"certificateType":5}', json.dumps(_nested(40)), "[" * 5000]
    return valid + invalid


def device_model_targets(daemon: Daemon, leave_out: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every variable of the station's device model (but those named in `leave_out`) as a
    SetVariableData/GetVariableData address."""
    targets = []
    for definition in daemon.dm.definitions():
        if definition.variable.name in _FROZEN_VARIABLES | leave_out:
            continue
        key = definition.component
        component: dict[str, Any] = {"name": key.name}
        if key.instance is not None:
            component["instance"] = key.instance
        if key.evse_id is not None:
            component["evse"] = {"id": key.evse_id}
            if key.connector_id is not None:
                component["evse"]["connectorId"] = key.connector_id
        variable: dict[str, Any] = {"name": definition.variable.name}
        if definition.variable.instance is not None:
            variable["instance"] = definition.variable.instance
        targets.append({"component": component, "variable": variable})
    return targets


def _in(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def state(daemon: Daemon) -> dict[str, Any]:
    """Everything an invalid frame must not change: every row of the station database (device model,
    outbox, auth cache and local list, reservations, journals) and the in-memory views of them."""
    db_path = daemon.settings.state_dir / DB_FILENAME
    tables: dict[str, list[str]] = {}
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            tables[name] = sorted(repr(row) for row in db.execute(f'SELECT * FROM "{name}"'))
    db.close()
    dm = daemon.dm
    values = {
        str(address): dm.current(address)
        for definition in dm.definitions()
        if (definition.component.name, definition.variable.name) not in _LIVE
        for attribute in definition.attributes
        for address in [AttributeAddress(definition.component, definition.variable, attribute.type)]
    }
    station = daemon.station
    return {
        "tables": tables,
        "device_model": values,
        "outbox_length": len(station.outbox),
        "local_list_version": station.authorizer.local_list_version(),
        "reservations": repr(station.reservations.book) if station.reservations is not None else None,
        "evses": {i: (repr(r.state), repr(r.pending_profile)) for i, r in station.evses.items()},
        "reset_requested": station.reset_requested.is_set(),
    }


def state_difference(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable differences between two `state` results."""
    out: list[str] = []
    for key in before:
        if before[key] == after[key]:
            continue
        if isinstance(before[key], dict):
            for sub in sorted(set(before[key]) | set(after[key]), key=str):
                if before[key].get(sub) != after[key].get(sub):
                    out.append(f"{key}[{sub}]: {str(before[key].get(sub))[:300]} -> {str(after[key].get(sub))[:300]}")
        else:
            out.append(f"{key}: {before[key]!r} -> {after[key]!r}")
    return out


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
