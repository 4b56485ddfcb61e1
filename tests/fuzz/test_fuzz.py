"""A short `make fuzz` for CI: 20,000 frames in process and 2,000 over the websocket, fixed seeds, for a
station speaking OCPP 2.0.1 and for one speaking 1.6J.

The full run (`make fuzz`, a million frames, a random seed) lives in tests/fuzz/run.py; these keep the
generators, the oracle and the station's answers honest on every commit.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.fuzz.bare_csms import BareCsms
from tests.fuzz.inproc import run_in_process
from tests.fuzz.station import Capture, build_station, fuzz_session, state, state_difference, station_version
from tests.fuzz.versions import V16
from tests.fuzz.wire import run_over_websocket, start_daemon, stop_daemon

# Every code OCPP-J prescribes for what the generators make; a generator that silently stopped producing
# one of them would let the station's answer to it go unchecked.
EXPECTED_CODES = {
    "CALLRESULT",
    "FormatViolation",
    "MessageTypeNotSupported",
    "NotImplemented",
    "NotSupported",
    "OccurrenceConstraintViolation",
    "PropertyConstraintViolation",
    "RpcFrameworkError",
    "TypeConstraintViolation",
}


async def test_fuzz_in_process_20k_frames(tmp_path: Path) -> None:
    report = await run_in_process(20_000, 20261201, tmp_path, batch=1_000, sample_every=10_000)
    assert report.ok, report.summary()
    assert report.frames == 20_000
    assert report.state_checks == 10  # every other batch of 1,000 holds only invalid frames
    assert set(report.replies) == EXPECTED_CODES, report.summary()


async def test_fuzz_over_websocket_2k_frames(tmp_path: Path) -> None:
    report = await run_over_websocket(2_000, 20261202, tmp_path, sample_every=1_000)
    assert report.ok, report.summary()
    assert report.frames == 2_000
    assert {"CALLRESULT", "RpcFrameworkError", "NotImplemented"} <= set(report.replies), report.summary()


# A valid local list and a HeartbeatInterval of 77, as each version says them.
SNAPSHOT_FRAMES = {
    "2.0.1": (
        '[2,"s1","SendLocalList",{"versionNumber":7,"updateType":"Full",'
        '"localAuthorizationList":[{"idToken":{"idToken":"CARD-1","type":"ISO14443"},'
        '"idTokenInfo":{"status":"Accepted"}}]}]',
        '[2,"s2","SetVariables",{"setVariableData":[{"attributeValue":"77",'
        '"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}]',
    ),
    "1.6": (
        '[2,"s1","SendLocalList",{"listVersion":7,"updateType":"Full",'
        '"localAuthorizationList":[{"idTag":"CARD-1","idTagInfo":{"status":"Accepted"}}]}]',
        '[2,"s2","ChangeConfiguration",{"key":"HeartbeatInterval","value":"77"}]',
    ),
}


@pytest.mark.parametrize("version", sorted(SNAPSHOT_FRAMES))
async def test_state_snapshot_sees_what_a_valid_call_changes(tmp_path: Path, version: str) -> None:
    """The "state unchanged" check of the invalid batches is only worth something if it can see a change:
    a valid SendLocalList and SetVariables (1.6: ChangeConfiguration, same database) must show in it."""
    daemon = build_station(tmp_path, ocpp_version=version)
    capture = Capture()
    session = fuzz_session(daemon, capture)
    before = state(daemon)
    for frame in SNAPSHOT_FRAMES[version]:
        await session.handle_frame(frame)
    await session.drain()
    replies = [json.loads(text) for text in capture.sent]
    assert [reply[:2] for reply in replies] == [[3, "s1"], [3, "s2"]], replies
    changes = state_difference(before, state(daemon))
    assert any(change.startswith("local_list_version") for change in changes), changes
    assert any("HeartbeatInterval" in change and "77" in change for change in changes), changes


# ---- OCPP 1.6J ------------------------------------------------------------------------------------------
# The same generators against a 1.6J station: the codes in OCPP-J 1.6 spelling. 1.6 has no RpcFrameworkError
# or MessageTypeNotSupported (a frame that is no CALL/CALLRESULT/CALLERROR is a FormationViolation) and the
# errata keep FormationViolation and OccurenceConstraintViolation.
EXPECTED_CODES_16 = {
    "CALLRESULT",
    "FormationViolation",
    "NotImplemented",
    "NotSupported",
    "OccurenceConstraintViolation",
    "PropertyConstraintViolation",
    "TypeConstraintViolation",
}


async def test_fuzz_16_in_process_20k_frames(tmp_path: Path) -> None:
    report = await run_in_process(20_000, 20261601, tmp_path, batch=1_000, sample_every=10_000, ocpp_version="1.6")
    assert report.ok, report.summary()
    assert report.frames == 20_000
    assert report.state_checks == 10  # every other batch of 1,000 holds only invalid frames
    assert set(report.replies) == EXPECTED_CODES_16, report.summary()
    # The 1.6 generators reached the configuration keys and the Plug & Charge whitepaper's 2.0.1 handlers.
    assert report.kinds["configuration_call"] > 0, report.summary()
    assert report.handled["DataTransfer:Accepted"] > 0 and report.handled["DataTransfer:Rejected"] > 0, report.summary()


async def test_fuzz_16_over_websocket_2k_frames(tmp_path: Path) -> None:
    report = await run_over_websocket(2_000, 20261602, tmp_path, sample_every=1_000, ocpp_version="1.6")
    assert report.ok, report.summary()
    assert report.frames == 2_000
    assert {"CALLRESULT", "FormationViolation", "NotImplemented"} <= set(report.replies), report.summary()


async def test_bare_csms_registers_a_16_station_over_ocpp16(tmp_path: Path) -> None:
    """The websocket run is only a 1.6 run if the bare CSMS agrees ocpp1.6 and accepts the 1.6 boot."""
    csms = BareCsms(version=V16)
    await csms.start()
    try:
        daemon, task = await start_daemon(tmp_path, csms, ocpp_version="1.6")
        try:
            assert csms.socket.subprotocol == "ocpp1.6"
            for _ in range(200):  # StatusNotification goes out only once the boot is Accepted
                if "StatusNotification" in csms.station_calls:
                    break
                await asyncio.sleep(0.05)
            assert "StatusNotification" in csms.station_calls, csms.station_calls
            assert csms.station_calls[0] == "BootNotification"
            assert station_version(daemon) is V16
        finally:
            assert await stop_daemon(task) is None
    finally:
        await csms.stop()


async def test_16_session_answers_in_16_spelling(tmp_path: Path) -> None:
    """The fuzz session of a 1.6 station is a 1.6 session: a frame that is not JSON and a payload with an
    unknown field are FormationViolations, a missing field an OccurenceConstraintViolation."""
    daemon = build_station(tmp_path, ocpp_version="1.6")
    capture = Capture()
    session = fuzz_session(daemon, capture)
    await session.handle_frame("[2,")
    await session.handle_frame('[2,"x1","ChangeConfiguration",{"key":"HeartbeatInterval","value":"1","bogus":1}]')
    await session.handle_frame('[2,"x2","ChangeConfiguration",{"key":"HeartbeatInterval"}]')
    await session.drain()
    assert [json.loads(text)[2] for text in capture.sent] == [
        "FormationViolation",
        "FormationViolation",
        "OccurenceConstraintViolation",
    ]
