"""The password a 1.6 AuthorizationKey stands for (security whitepaper edition 3, A01; OCTT TC_085_CS), and
the Authorization header the connection builds from it."""

from __future__ import annotations

import base64

import pytest

from evse.ocpp.connection import Endpoint
from evse.ocpp.v16.authorization_key import basic_auth_password, is_hex_key


@pytest.mark.parametrize(
    ("key", "password"),
    [
        ("4F43415F4F4354545F61646D696E5F74657374", b"OCA_OCTT_admin_test"),  # the OCTT's TC_073 key, 19 bytes
        ("00" * 16, b"\x00" * 16),  # 16 bytes, the minimum
        ("ff" * 20, b"\xff" * 20),  # 20 bytes, the maximum
    ],
)
def test_a_hex_key_of_16_to_20_bytes_stands_for_its_bytes(key: str, password: bytes) -> None:
    assert is_hex_key(key)
    assert basic_auth_password(key) == password


@pytest.mark.parametrize(
    "key",
    [
        "test-password-0001",  # a text password (16-20 characters)
        "0123456789abcdef",  # hex digits, but 16 of them: 8 bytes would be below the minimum, so text
        "ab" * 21,  # 21 bytes: above the maximum
        "abc" + "0" * 30,  # 33 digits: not whole bytes
        "0123456789abcdef 123456789abcdef01",  # a space: bytes.fromhex would take it, a key is plain digits
    ],
)
def test_anything_else_is_the_password_as_written(key: str) -> None:
    assert not is_hex_key(key)
    assert basic_auth_password(key) == key.encode()


def test_the_header_carries_binary_password_bytes_unchanged() -> None:
    endpoint = Endpoint(url="ws://127.0.0.1:1/ocpp", identity="CS001", security_profile=1, password=b"\x00\xff:x")
    scheme, token = endpoint.headers()["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token) == b"CS001:\x00\xff:x"


def test_a_text_password_is_sent_in_utf_8() -> None:
    endpoint = Endpoint(url="ws://127.0.0.1:1/ocpp", identity="CS001", security_profile=2, password="pässwörd")
    token = endpoint.headers()["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(token) == "CS001:pässwörd".encode()
