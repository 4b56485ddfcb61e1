"""The technician's page over HTTP (no browser): the auth rules, the API, check-config's errors and apply.

The daemon runs in process against the dev CSMS on loopback; requests are real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from evse.config import load_settings
from evse.daemon import Daemon, Exit, build
from evse.devcsms.server import DevCsms
from tests.cert_factory import make_certificate
from tests.integration.conftest import STATION_ID
from tests.web_client import WEB_PASSWORD, Answer, WebClient, web_yaml, write_yaml

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Page:
    daemon: Daemon
    task: asyncio.Task[Exit]
    config: Path
    client: WebClient

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Answer:
        return await asyncio.to_thread(self.client.request, method, path, body, **kw)

    async def login(self, password: str = WEB_PASSWORD) -> Answer:
        return await asyncio.to_thread(self.client.login, password)


PageFactory = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(tmp_path: Path, csms: DevCsms) -> AsyncIterator[PageFactory]:
    tasks: list[asyncio.Task[Exit]] = []

    async def factory(**web: Any) -> Page:
        data = web_yaml(tmp_path, csms.port, **web)
        config = write_yaml(tmp_path / "evse.yaml", data)
        daemon = build(load_settings(config), config_path=config)
        task = asyncio.create_task(daemon.run())
        tasks.append(task)
        ca = Path(data["state_dir"]) / "web-cert.pem" if data["web"]["tls"] else None
        page = Page(daemon, task, config, WebClient(data["web"]["port"]))
        for _ in range(100):  # the listening socket is up once a request is answered
            with contextlib.suppress(OSError):
                if ca is not None and ca.exists():
                    page.client = WebClient(data["web"]["port"], tls_ca=ca)
                await page.call("GET", "/login")
                return page
            await asyncio.sleep(0.05)
        raise AssertionError("the web page never answered")

    yield factory
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


PROTECTED = [
    ("GET", "/"),
    ("GET", "/index.html"),
    ("GET", "/static/app.js"),
    ("GET", "/static/index.html"),
    ("GET", "/api/state"),
    ("GET", "/api/device-model?q=Heartbeat"),
    ("GET", "/api/config"),
    ("POST", "/api/config/check"),
    ("POST", "/api/config/apply"),
    ("POST", "/api/sim"),
    ("POST", "/api/logout"),
]


async def test_every_page_and_api_refused_without_a_session(open_page: PageFactory) -> None:
    page = await open_page()
    for method, path in PROTECTED:
        answer = await page.call(method, path, {"text": "x", "cmd": "plug", "evse": 1} if method == "POST" else None)
        if path.startswith("/api/"):
            assert answer.status == 401, (method, path, answer.status)
        else:
            assert (answer.status, answer.headers["Location"]) == (303, "/login"), (method, path)
        assert b"CS001" not in answer.body and b"basic_auth" not in answer.body
    # A forged or expired cookie is no session either.
    page.client.cookie = "evse_session=forged"
    assert (await page.call("GET", "/api/state")).status == 401
    # The login page and its files are all that is public.
    for path in ("/login", "/static/login.js", "/static/style.css"):
        assert (await page.call("GET", path)).status == 200, path


async def test_wrong_password_refused_then_rate_limited(open_page: PageFactory) -> None:
    page = await open_page()
    for _ in range(5):
        answer = await page.login("not-the-password")
        assert answer.status == 401 and "Set-Cookie" not in answer.headers
    # Locked out: even the right password is refused for a while.
    answer = await page.login()
    assert answer.status == 429 and "Set-Cookie" not in answer.headers
    assert (await page.call("GET", "/api/state")).status == 401


async def test_login_cookie_and_live_state(open_page: PageFactory, csms: DevCsms) -> None:
    page = await open_page()
    answer = await page.login()
    assert answer.status == 200
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # plain HTTP here
    await csms.wait_for("StatusNotification", timeout=10)
    state = (await page.call("GET", "/api/state")).json()
    assert state["station"] == {
        "id": "CS001", "vendor": "TestVendor", "model": "TestModel", "serial": None,
        "firmware_version": "1.0.0", "simulated": True,
    }  # fmt: skip
    assert state["csms"]["connected"] and state["csms"]["connected_since"].endswith("Z")
    assert state["csms"]["security_profile"] == 1 and state["csms"]["ocpp_version"] == "2.0.1"
    assert state["evses"][0]["status"] == "Available"
    # The sim controls are the control socket's commands.
    assert (await page.call("POST", "/api/sim", {"cmd": "plug", "evse": 1})).json()["ok"]
    for _ in range(50):
        state = (await page.call("GET", "/api/state")).json()
        if state["evses"][0]["status"] == "Occupied":
            break
        await asyncio.sleep(0.1)
    assert state["evses"][0]["pilot"] == "B" and state["evses"][0]["status"] == "Occupied"
    refused = await page.call("POST", "/api/sim", {"cmd": "plug", "evse": 7})
    assert refused.status == 400 and "unknown EVSE 7" in refused.json()["error"]
    # No password in the log lines the page shows, nor in the device model.
    assert WEB_PASSWORD not in str(state["log"]) and "test-password-0001" not in str(state["log"])
    rows = (await page.call("GET", "/api/device-model?q=basicauthpassword")).json()["rows"]
    assert rows and all(row["value"] is None for row in rows)
    rows = (await page.call("GET", "/api/device-model?q=HeartbeatInterval")).json()["rows"]
    assert [row["variable"] for row in rows] == ["HeartbeatInterval"]
    # Logged out: the session is gone.
    assert (await page.call("POST", "/api/logout", {})).status == 200
    assert (await page.call("GET", "/api/state")).status == 401


async def test_post_needs_a_json_body(open_page: PageFactory) -> None:
    """A cross-site form can only send form encodings: refused before the session is even looked at."""
    page = await open_page()
    await page.login()
    answer = await page.call("POST", "/api/sim", b"cmd=plug&evse=1", content_type="application/x-www-form-urlencoded")
    assert answer.status == 415


async def test_check_shows_the_same_errors_as_check_config(open_page: PageFactory, tmp_path: Path) -> None:
    page = await open_page()
    await page.login()
    good = page.config.read_text()
    for broken in (
        good.replace("max_current_a", "max_current_amps") if "max_current_a" in good else good + "bogus: 1\n",
        good.replace("security_profile: 1", "security_profile: 7"),
        good.replace("station:", "station: [unclosed", 1),
    ):
        answer = (await page.call("POST", "/api/config/check", {"text": broken})).json()
        other = tmp_path / "other.yaml"
        other.write_text(broken)
        cli = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "evse", "check-config", str(other)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        expected = [
            line.removeprefix("error: ").replace(str(other), str(page.config)) for line in cli.stderr.splitlines()
        ]
        assert cli.returncode == 2 and not answer["ok"]
        assert [error["message"] for error in answer["errors"]] == expected
    # The error names the line it is about.
    lines = good.replace("security_profile: 1", "security_profile: 7")
    answer = (await page.call("POST", "/api/config/check", {"text": lines})).json()
    (error,) = answer["errors"]
    assert lines.splitlines()[error["line"] - 1].strip() == "security_profile: 7"
    assert (await page.call("POST", "/api/config/check", {"text": good})).json() == {"ok": True, "errors": []}


async def test_apply_only_valid_then_restart_with_backup(open_page: PageFactory) -> None:
    page = await open_page()
    await page.login()
    before = page.config.read_text()
    refused = await page.call("POST", "/api/config/apply", {"text": before.replace("security_profile: 1", "x: [")})
    assert refused.status == 422 and not refused.json()["ok"]
    assert page.config.read_text() == before and not page.task.done()
    changed = before.replace("firmware_version: 1.0.0", "firmware_version: 2.0.0")
    answer = await page.call("POST", "/api/config/apply", {"text": changed})
    assert answer.status == 202
    assert page.config.read_text() == changed
    assert page.config.with_name("evse.yaml.bak").read_text() == before
    assert await asyncio.wait_for(page.task, 15) is Exit.RESET  # `evse run` re-executes on this
    assert page.daemon.station.journal.take_boot_reason() == "LocalReset"  # the next BootNotification's reason
    # Who did it, in the security log (the ResetOrReboot entry) as well as the daemon log.
    who = "configuration applied by web user=technician client=127.0.0.1"
    records = page.daemon.security.log.records()
    assert any(r["type"] == "ResetOrReboot" and who in r["techInfo"] for r in records)


async def test_https_self_signed_certificate_made_on_first_start(open_page: PageFactory, tmp_path: Path) -> None:
    page = await open_page(tls=True)
    key = tmp_path / "state" / "web-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    answer = await page.login()
    assert answer.status == 200 and "Secure" in answer.headers["Set-Cookie"]
    assert answer.headers["Strict-Transport-Security"]
    assert (await page.call("GET", "/api/state")).json()["station"]["id"] == "CS001"


async def test_certificates_are_what_evse_certs_list_shows(open_page: PageFactory, csms: DevCsms) -> None:
    page = await open_page()
    await csms.wait_for("BootNotification", timeout=10)
    root = make_certificate("Technician Page Root")
    result = await csms.call(
        STATION_ID, call.InstallCertificate(certificate_type="ManufacturerRootCertificate", certificate=root.pem)
    )
    assert result.status == "Accepted"
    await page.login()
    shown = (await page.call("GET", "/api/state")).json()["certificates"]
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "evse", "certs", "list", "--json", "--config", str(page.config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert shown == json.loads(cli.stdout)
    assert [row["subject"] for row in shown] == ["CN=Technician Page Root"]


async def test_apply_refused_while_a_transaction_runs(open_page: PageFactory, csms: DevCsms) -> None:
    """The restart would end the driver's session: the file is left alone until the car has gone."""
    page = await open_page()
    await csms.wait_for("StatusNotification", timeout=10)
    await page.login()
    for command in ({"cmd": "plug", "evse": 1}, {"cmd": "swipe", "evse": 1, "id_token": "AABBCCDD"}):
        assert (await page.call("POST", "/api/sim", command)).json()["ok"]
    await csms.wait_for("TransactionEvent", timeout=10)
    before = page.config.read_text()
    answer = await page.call("POST", "/api/config/apply", {"text": before.replace("1.0.0", "3.0.0")})
    assert answer.status == 409 and "transaction" in answer.json()["error"]
    assert page.config.read_text() == before and not page.config.with_name("evse.yaml.bak").exists()
    assert not page.task.done()


async def test_oversized_requests_refused_unread(open_page: PageFactory) -> None:
    page = await open_page()
    port = page.client.port

    async def raw(data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data)
        await writer.drain()
        answer = await reader.read()
        writer.close()
        return answer

    huge_body = b"POST /api/login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
    assert (await raw(huge_body)).startswith(b"HTTP/1.1 413 ")
    huge_header = b"GET /login HTTP/1.1\r\nX-Filler: " + b"a" * 20000 + b"\r\n\r\n"
    assert (await raw(huge_header)).startswith(b"HTTP/1.1 431 ")
    assert (await raw(b"GET /login HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 200 ")


async def test_page_port_taken_the_station_runs_on(open_page: PageFactory, tmp_path: Path, csms: DevCsms) -> None:
    """The page is a technician's convenience: without it (port taken) the station still boots and charges."""
    page = await open_page()
    data = web_yaml(tmp_path / "second", csms.port, web_port=page.client.port)
    config = write_yaml(tmp_path / "second.yaml", data)
    daemon = build(load_settings(config), config_path=config)
    task = asyncio.create_task(daemon.run())
    try:
        for _ in range(100):
            if daemon.connection.is_connected:
                break
            await asyncio.sleep(0.05)
        assert daemon.connection.is_connected and not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
