"""GetLog's remoteLocation taken apart: what is uploaded where, what is BadMessage, what is Rejected."""

from __future__ import annotations

import base64

import pytest

from evse.logs.upload import BadLocation, UnsupportedScheme, parse_location

FILE = "CS001-DiagnosticsLog-1-20261201T170000Z.tar.gz"


def test_a_directory_location_gets_the_file_name() -> None:
    target = parse_location("http://logs.example/upload/", FILE)
    assert (target.scheme, target.host, target.port, target.path) == ("http", "logs.example", 80, f"/upload/{FILE}")
    assert parse_location("https://logs.example", FILE).path == f"/{FILE}"
    assert parse_location("https://logs.example", FILE).port == 443


def test_a_file_location_is_used_as_given_with_its_query() -> None:
    target = parse_location("https://127.0.0.1:8443/put/here.tgz?token=abc", FILE)
    assert (target.port, target.path) == (8443, "/put/here.tgz?token=abc")


def test_credentials_become_basic_authorization_and_stay_out_of_repr() -> None:
    target = parse_location("http://user:p%40ss-word@127.0.0.1/x/", FILE)
    assert target.authorization == "Basic " + base64.b64encode(b"user:p@ss-word").decode()
    assert "p%40ss" not in repr(target) and "p@ss" not in repr(target) and "p@ss" not in target.url


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/logs/", "sftp://host/x", "file:///etc/passwd"])
def test_other_schemes_are_unsupported(location: str) -> None:
    with pytest.raises(UnsupportedScheme):
        parse_location(location, FILE)


@pytest.mark.parametrize("location", ["", "http://", "/relative/path", "not a url", "http://h:99999/", "http://:80/"])
def test_unusable_locations_are_bad(location: str) -> None:
    with pytest.raises(BadLocation) as raised:
        parse_location(location, FILE)
    assert type(raised.value) is BadLocation
