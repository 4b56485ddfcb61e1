"""A short `make fuzz` for CI: 20,000 frames in process and 2,000 over the websocket, fixed seeds.

The full run (`make fuzz`, a million frames, a random seed) lives in tests/fuzz/run.py; these keep the
generators, the oracle and the station's answers honest on every commit.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fuzz.inproc import run_in_process
from tests.fuzz.station import Capture, build_station, fuzz_session, state, state_difference
from tests.fuzz.wire import run_over_websocket

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


async def test_state_snapshot_sees_what_a_valid_call_changes(tmp_path: Path) -> None:
    """The "state unchanged" check of the invalid batches is only worth something if it can see a change:
    a valid SendLocalList and SetVariables must show in it."""
    daemon = build_station(tmp_path)
    capture = Capture()
    session = fuzz_session(daemon, capture)
    before = state(daemon)
    await session.handle_frame(
        '[2,"s1","SendLocalList",{"versionNumber":7,"updateType":"Full",'
        '"localAuthorizationList":[{"idToken":{"idToken":"CARD-1","type":"ISO14443"},'
        '"idTokenInfo":{"status":"Accepted"}}]}]'
    )
    await session.handle_frame(
        '[2,"s2","SetVariables",{"setVariableData":[{"attributeValue":"77",'
        '"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}]'
    )
    await session.drain()
    assert [json.loads(text)[:2] for text in capture.sent] == [[3, "s1"], [3, "s2"]]
    changes = state_difference(before, state(daemon))
    assert any(change.startswith("local_list_version") for change in changes), changes
    assert any("HeartbeatInterval" in change and "77" in change for change in changes), changes
