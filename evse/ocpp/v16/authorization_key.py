"""The HTTP Basic password an OCPP 1.6 AuthorizationKey stands for (security whitepaper edition 3, A01).

Under 1.6 the CentralSystem sets the password with ChangeConfiguration(AuthorizationKey), and the key is the
hexadecimal representation of the password: 16 to 20 bytes, so 32 to 40 hex digits, advised to be random
binary. What travels in the Authorization header is the password itself, not its hex spelling (the OCTT
checks it so in TC_085_CS). A value that is not such a hex string (a 16-20 character text password given by
the technician's YAML) is the password as it is, in UTF-8. 2.0.1's BasicAuthPassword is text and never
goes through here.
"""

from __future__ import annotations

import string

#: The password's length in bytes, and so twice that in hex digits (whitepaper: 16 minimum, 20 maximum).
MIN_BYTES, MAX_BYTES = 16, 20
_HEX = frozenset(string.hexdigits)


def is_hex_key(value: str) -> bool:
    """True when `value` is the hex representation of a 16-20 byte password."""
    return 2 * MIN_BYTES <= len(value) <= 2 * MAX_BYTES and len(value) % 2 == 0 and set(value) <= _HEX


def basic_auth_password(value: str) -> bytes:
    """The bytes after ``<identity>:`` in the Basic credentials for the AuthorizationKey `value`."""
    if is_hex_key(value):
        return bytes.fromhex(value)
    return value.encode()
