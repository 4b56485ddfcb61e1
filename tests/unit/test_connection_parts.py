"""Reconnect backoff (B10 RetryBackOff*) and the websocket endpoint (security profiles)."""

from __future__ import annotations

import base64

from evse.ocpp.connection import Backoff, Endpoint


def test_backoff_doubles_repeat_times_then_stays() -> None:
    backoff = Backoff(wait_minimum=10, random_range=0, repeat_times=3)
    assert [backoff.delay(n) for n in range(6)] == [10, 20, 40, 80, 80, 80]


def test_backoff_adds_at_most_the_random_range() -> None:
    backoff = Backoff(wait_minimum=5, random_range=2, repeat_times=0)
    delays = [backoff.delay(0) for _ in range(200)]
    assert all(5 <= d <= 7 for d in delays) and max(delays) > 5


def test_identity_is_appended_to_the_url_and_escaped() -> None:
    assert Endpoint("ws://h:1/ocpp/", "CS 1", 0).full_url == "ws://h:1/ocpp/CS%201"


def test_profile_1_sends_basic_auth_with_the_station_id_profile_0_nothing() -> None:
    header = Endpoint("ws://h/ocpp", "CS001", 1, password="pw-1234").headers()["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == b"CS001:pw-1234"
    assert Endpoint("ws://h/ocpp", "CS001", 0, password="pw").headers() == {}
    assert Endpoint("ws://h/ocpp", "CS001", 1).ssl_context() is None
