"""Security events on the wire (OCPP 2.0.1 A04): the real daemon against the dev CSMS over loopback.

Critical events reach the CSMS as SecurityEventNotification through the durable outbox; every event is in
the rotating security log in state_dir, which never holds a password."""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from evse.clock import SystemClock
from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from evse.security.events import SecurityEvents
from evse.security.security_log import SecurityLog
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings
from tests.tls_certs import TestPki, server_context


def of_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda payload: payload["type"] == kind


def logged(sut: StationUnderTest) -> list[dict[str, Any]]:
    return SecurityLog(sut.settings.state_dir / "security.log").records()


async def eventually(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_startup_of_the_device_arrives_after_boot(csms: DevCsms, station: StationUnderTest) -> None:
    """A04.FR.01: StartupOfTheDevice is critical, so it is sent (after the BootNotification was Accepted)."""
    event = await csms.wait_for("SecurityEventNotification", predicate=of_type("StartupOfTheDevice"), timeout=10)
    assert event["techInfo"] == "boot reason PowerUp"
    raws = [f.raw for f in csms.log]
    first_event = next(i for i, raw in enumerate(raws) if '"SecurityEventNotification"' in raw)
    assert any('"BootNotification"' in raw for raw in raws[:first_event]), "the event came before the boot"
    assert [r["type"] for r in logged(station)] == ["StartupOfTheDevice"]
    csms.assert_no_failures()


async def test_reset_gives_reset_or_reboot(csms: DevCsms, station: StationUnderTest) -> None:
    """A04: an accepted Reset of the station is ResetOrReboot, delivered before the restart."""
    assert (await csms.call(STATION_ID, call.Reset(type="Immediate"))).status == "Accepted"
    assert await station.wait_exit() is Exit.RESET
    event = await csms.wait_for("SecurityEventNotification", predicate=of_type("ResetOrReboot"), timeout=5)
    assert event["techInfo"] == "reset reason RemoteReset"
    assert "ResetOrReboot" in [r["type"] for r in logged(station)]


async def test_event_raised_offline_arrives_after_reconnect_and_restart(tmp_path: Path) -> None:
    """A04.FR.02: a critical event raised with no CSMS (StartupOfTheDevice of a boot that never connected)
    stays in the outbox across a restart and arrives once a CSMS is there, beside the new boot's event."""
    port = free_port()
    settings = station_settings(tmp_path, port)
    offline = StationUnderTest(settings)
    await offline.start()
    await eventually(lambda: offline.d.connection.failures >= 1, 10)
    await offline.stop()
    csms = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await csms.start(port=port)
    online = StationUnderTest(settings)
    try:
        await online.start()
        first = await csms.wait_for("SecurityEventNotification", timeout=15)
        second = await csms.wait_for("SecurityEventNotification", timeout=10)
        assert [first["type"], second["type"]] == ["StartupOfTheDevice", "StartupOfTheDevice"]
        assert first["timestamp"] < second["timestamp"]  # the offline boot's event came first
        csms.assert_no_failures()
    finally:
        await online.stop()
        await csms.stop()


async def test_TC_A_05_CS_invalid_csms_certificate_reported_after_connecting(tmp_path: Path) -> None:
    """A04 with A00: a CSMS certificate from an unknown CA is refused; InvalidCsmsCertificate (critical) is
    sent once the station has a connection again, here to a CSMS with a certificate it trusts."""
    pki = TestPki(tmp_path / "pki")
    root = pki.ca("CSMS Root")
    rogue = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await rogue.start(ssl=server_context(pki.ca("Rogue Root").issue_server()))
    port = rogue.port
    csms = {"url": f"wss://127.0.0.1:{port}/ocpp", "security_profile": 2, "ca_file": str(root.path)}
    sut = StationUnderTest(station_settings(tmp_path, port, csms=csms | {"basic_auth_password": PASSWORD}))
    good = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    try:
        await sut.start()
        await eventually(lambda: sut.d.connection.last_tls_failure is not None, 15)
        await rogue.stop()
        await good.start(port=port, ssl=server_context(root.issue_server()))
        event = await good.wait_for(
            "SecurityEventNotification", predicate=of_type("InvalidCsmsCertificate"), timeout=15
        )
        assert "not signed by an installed CSMS root" in event["techInfo"]
        assert rogue.auth_attempts == []  # the refused server never saw the password
        good.assert_no_failures()
    finally:
        await sut.stop()
        await good.stop()


async def test_refused_credentials_logged_not_sent(csms: DevCsms, make_station: Any) -> None:
    """FailedToAuthenticateAtCsms (HTTP 401) is not critical: in the security log once the station is
    connected again, never sent; neither password is in the log."""
    assert csms.basic_auth is not None
    csms.basic_auth[STATION_ID] = "the-csms-expects-another-one"
    sut: StationUnderTest = await make_station()
    await eventually(lambda: bool(csms.auth_attempts), 10)
    assert not csms.auth_attempts[-1].accepted
    csms.basic_auth[STATION_ID] = PASSWORD
    await csms.wait_for("BootNotification", timeout=15)
    await eventually(lambda: "FailedToAuthenticateAtCsms" in [r["type"] for r in logged(sut)], 10)
    await csms.wait_for("SecurityEventNotification", predicate=of_type("StartupOfTheDevice"), timeout=10)
    assert "FailedToAuthenticateAtCsms" not in [e["type"] for e in csms.received("SecurityEventNotification")]
    text = (sut.settings.state_dir / "security.log").read_text()
    assert PASSWORD not in text and "the-csms-expects-another-one" not in text


async def test_new_basic_auth_password_is_reconfiguration_never_in_the_log(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """A01 + A04: the CSMS setting SecurityCtrlr.BasicAuthPassword is ReconfigurationOfSecurityParameters
    (not critical: log only); the log names the variable, never the password."""
    new_password = "a-brand-new-password-42"
    result = await csms.call(
        STATION_ID,
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "BasicAuthPassword"},
                    "attribute_value": new_password,
                }
            ]
        ),
    )
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"
    records = logged(station)
    assert [r for r in records if r["type"] == "ReconfigurationOfSecurityParameters"] == [
        {
            "timestamp": records[-1]["timestamp"],
            "type": "ReconfigurationOfSecurityParameters",
            "techInfo": "SecurityCtrlr.BasicAuthPassword set by the CSMS",
        }
    ]
    await csms.wait_for("SecurityEventNotification", predicate=of_type("StartupOfTheDevice"), timeout=10)
    assert [e["type"] for e in csms.received("SecurityEventNotification")] == ["StartupOfTheDevice"]
    for path in (station.settings.state_dir / "security.log", station.settings.state_dir / "security.log.1"):
        if path.exists():
            assert new_password not in path.read_text() and PASSWORD not in path.read_text()


async def test_clock_set_far_from_the_csms_time_is_setting_system_time(csms: DevCsms, make_station: Any) -> None:
    """A04 / ClockCtrlr.TimeAdjustmentReportingThreshold: a CSMS time an hour ahead moves the clock further
    than the threshold (20 s), so SettingSystemTime (critical) is sent."""
    ahead = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    csms.respond(
        "BootNotification",
        {"currentTime": ahead.isoformat().replace("+00:00", "Z"), "interval": 300, "status": "Accepted"},
    )
    await make_station()
    event = await csms.wait_for("SecurityEventNotification", predicate=of_type("SettingSystemTime"), timeout=10)
    assert event["techInfo"].startswith("clock set from the CSMS, moved +3")
    csms.assert_no_failures()


def test_security_log_rotates_at_its_bound(tmp_path: Path) -> None:
    """The log is bounded: two files, each within max_bytes; the newest events are kept, the oldest go."""
    security_log = SecurityLog(tmp_path / "security.log", max_bytes=1000)
    for n in range(100):
        security_log.append({"timestamp": "2026-01-01T00:00:00.000Z", "type": "InvalidMessages", "techInfo": f"#{n}"})
    assert security_log.rotated.exists()
    assert security_log.path.stat().st_size <= 1000 and security_log.rotated.stat().st_size <= 1000
    kept = [r["techInfo"] for r in security_log.records()]
    assert kept[-1] == "#99" and "#0" not in kept
    assert kept == sorted(kept, key=lambda t: int(t[1:]))  # oldest first, no gap between the two files
    assert all(json.loads(line) for line in security_log.path.read_text().splitlines())
    assert oct(security_log.path.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize("critical", [True, False])
def test_report_follows_the_spec_list_unless_told(tmp_path: Path, critical: bool) -> None:
    """A04.FR.01/02: only a critical event is sent; every event is logged; techInfo is cut to 255."""
    sent: list[Any] = []
    events = SecurityEvents(SecurityLog(tmp_path / "security.log"), SystemClock(), sent.append)
    events.report("InvalidTLSVersion" if critical else "InvalidMessages", "x" * 300)
    events.report("InvalidMessages", None, critical=True)
    assert len(sent) == (2 if critical else 1)
    assert len(events.log.records()) == 2
    assert len(events.log.records()[0]["techInfo"]) == 255


async def test_invalid_messages_from_the_csms_are_logged_folded(csms: DevCsms, station: StationUnderTest) -> None:
    """A04 InvalidMessages (not critical: the security log only): a frame that is not OCPP-J and a CALL that
    breaks its schema are answered with their CALLERROR and logged, the second folded into the first entry's
    minute so a flood cannot rewrite the bounded log."""
    await csms.send_raw(STATION_ID, "this is not json")
    await csms.send_raw(STATION_ID, json.dumps([2, "bad-1", "Reset", {"type": "Sideways"}]))
    await asyncio.sleep(0.3)
    entries = [r for r in logged(station) if r["type"] == "InvalidMessages"]
    assert len(entries) == 1
    assert entries[0]["techInfo"].startswith("RpcFrameworkError: message is not valid JSON")
    assert [e for e in csms.received("SecurityEventNotification") if e["type"] == "InvalidMessages"] == []


async def test_tamper_input_is_a_critical_security_event(csms: DevCsms, station: StationUnderTest) -> None:
    """A04 TamperDetectionActivated (critical): a digital input named "tamper" going active is logged and
    sent to the CSMS as SecurityEventNotification."""
    assert station.d.board is not None
    station.d.board.set_input(1, "tamper", True)
    event = await csms.wait_for("SecurityEventNotification", predicate=of_type("TamperDetectionActivated"), timeout=10)
    assert event["techInfo"] == "evse 1: tamper input active"
    assert [r["type"] for r in logged(station)].count("TamperDetectionActivated") == 1
