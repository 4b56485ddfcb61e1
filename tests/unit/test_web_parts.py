"""The technician's page, its pure parts: the web: section's rules, sessions, the log ring, error lines."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from evse.config import parse_settings
from evse.errors import ConfigError
from evse.logs.scrub import Scrubber
from evse.web.log_ring import LogRing
from evse.web.sessions import LoginRefused, Sessions
from evse.web.yaml_lines import error_line, key_path_line

CSMS_PASSWORD = "csms-password-01"


def settings(**web: Any) -> Any:
    return parse_settings(
        {
            "station": {"id": "CS001", "vendor": "V", "model": "M"},
            "csms": {"url": "ws://127.0.0.1:9000/ocpp", "security_profile": 1, "basic_auth_password": CSMS_PASSWORD},
            "evses": [{"id": 1, "connectors": [{"id": 1}]}],
            "web": web,
        },
        "evse.yaml",
    )


def test_web_page_off_by_default() -> None:
    assert settings().web.enabled is False


@pytest.mark.parametrize(
    ("web", "message"),
    [
        ({"enabled": True}, "evse.yaml: web: enabled needs password (the technician's login)"),
        ({"enabled": True, "password": "short"}, "evse.yaml: web.password: must be 8 to 128 characters"),
        (
            {"enabled": True, "password": CSMS_PASSWORD},
            "evse.yaml: web: password must not be the CSMS password (csms.basic_auth_password)",
        ),
        (
            {"enabled": True, "password": "page-password", "host": "0.0.0.0", "tls": False},
            "evse.yaml: web: tls: false (plain HTTP) only on 127.0.0.1 or ::1, not 0.0.0.0: the password would "
            "cross the network in clear",
        ),
    ],
)
def test_web_section_refused(web: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        settings(**web)
    assert str(refused.value) == message


def test_plain_http_on_loopback_and_https_anywhere() -> None:
    for host in ("127.0.0.1", "::1"):
        assert settings(enabled=True, password="page-password", host=host, tls=False).web.host == host
    assert settings(enabled=True, password="page-password", host="0.0.0.0").web.tls is True


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sessions_lock_out_a_guesser_then_let_the_right_password_in() -> None:
    clock = FakeMonotonic()
    sessions = Sessions("page-password", clock, max_failures=3, lockout_s=60)
    for _ in range(3):
        with pytest.raises(LoginRefused) as wrong:
            sessions.login("guess", "10.0.0.9")
        assert not wrong.value.locked
    with pytest.raises(LoginRefused) as locked:
        sessions.login("page-password", "10.0.0.9")
    assert locked.value.locked
    token = sessions.login("page-password", "10.0.0.8")  # another address is not locked out
    assert sessions.valid(token) and not sessions.valid("forged") and not sessions.valid(None)
    clock.now = 61
    assert sessions.valid(sessions.login("page-password", "10.0.0.9"))


def test_sessions_expire_when_idle_and_on_logout() -> None:
    clock = FakeMonotonic()
    sessions = Sessions("page-password", clock, idle_timeout_s=100)
    token = sessions.login("page-password", "127.0.0.1")
    clock.now = 90
    assert sessions.valid(token)  # used: kept open for another 100 s
    clock.now = 180
    assert sessions.valid(token)
    clock.now = 281
    assert not sessions.valid(token)
    other = sessions.login("page-password", "127.0.0.1")
    sessions.logout(other)
    assert not sessions.valid(other)


def test_log_ring_keeps_the_last_lines_without_passwords() -> None:
    ring = LogRing(Scrubber(["page-password-1"]), size=3)
    logger = logging.getLogger("test.web.ring")
    logger.addHandler(ring)
    logger.setLevel(logging.INFO)
    try:
        logger.info("login with page-password-1")
        logger.info("csms url ws://CS001:secret-value@127.0.0.1/ocpp")
        for n in range(3):
            logger.info("line %d", n)
        logger.info("basic_auth_password: hunter22")
    finally:
        logger.removeHandler(ring)
    lines = ring.lines()
    assert len(lines) == 3 and lines[0].endswith("line 1") and lines[-1].endswith("basic_auth_password: ***")
    ring_all = LogRing(Scrubber(["page-password-1"]))
    ring_all.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "login with page-password-1", None, None))
    assert ring_all.lines()[0].endswith("login with ***")


TEXT = """station:
  id: CS001
csms:
  url: ws://127.0.0.1:9000/ocpp
  security_profile: 7
evses:
  - id: 1
    connectors:
      - {id: 1, type: cBogus}
"""


def test_error_line_follows_the_key_path() -> None:
    assert error_line("f.yaml: csms.security_profile: bad", "f.yaml", TEXT) == 5
    assert error_line("f.yaml: evses[0].connectors[0].type: unknown", "f.yaml", TEXT) == 9
    assert error_line("f.yaml: station.vendor: Field required", "f.yaml", TEXT) == 1  # missing: its parent
    assert error_line("f.yaml:4:7: invalid YAML: x", "f.yaml", TEXT) == 4
    assert error_line("other.yaml: csms: x", "f.yaml", TEXT) is None
    assert key_path_line(TEXT, "(top level)") == 1
    assert key_path_line("a: [", "a") is None
