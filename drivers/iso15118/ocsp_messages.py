"""Version 3 of the bridge message set: OCSP responses for the module's V2G chain (docs section 4.4).

The station asks the CSMS for the OCSP status of the Sub-CA certificates of the module's V2G chain
(OCPP M06, GetCertificateStatus) and hands the DER OCSPResponses to the module, which staples them in
its ISO 15118 TLS handshake with the EV. The station never parses them: they are opaque bytes here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from drivers.iso15118.codec import MalformedMessage, Reader, Writer

#: OCPP 2.0.1 GetCertificateStatusResponse.ocspResult: 5500 base64 characters, 3 bytes per 4.
MAX_OCSP_RESPONSE: Final = 5500 // 4 * 3
#: Sub-CAs of a V2G chain: ISO 15118-2 allows at most two, the bound leaves room for -20 chains.
MAX_OCSP_RESPONSES: Final = 4


class OcspMessageType(IntEnum):
    """Type bytes of the version 3 messages."""

    V2G_OCSP_RESPONSES = 0x26


@dataclass(frozen=True, slots=True)
class V2gOcspResponses:
    """Station to module: the whole set of OCSP responses for its chain (replaces what it held).

    Chain order, the Sub-CA nearest the leaf first; an empty set clears the module's.
    """

    responses: tuple[bytes, ...]


def ocsp_responses_problem(responses: Sequence[bytes]) -> str | None:
    """What makes ``responses`` unfit for the wire, in one line; None when they fit."""
    if len(responses) > MAX_OCSP_RESPONSES:
        return f"{len(responses)} OCSP responses, at most {MAX_OCSP_RESPONSES}"
    for number, response in enumerate(responses, start=1):
        if not isinstance(response, bytes | bytearray):
            return f"OCSP response {number} is {type(response).__name__}, not bytes (DER)"
        if not response:
            return f"OCSP response {number} is empty"
        if len(response) > MAX_OCSP_RESPONSE:
            return f"OCSP response {number} has {len(response)} bytes, at most {MAX_OCSP_RESPONSE}"
    return None


def encode_ocsp_message(message: V2gOcspResponses) -> Writer:
    """The fields of ``message``; ValueError when they do not fit."""
    problem = ocsp_responses_problem(message.responses)
    if problem is not None:
        raise ValueError(problem)
    w = Writer(OcspMessageType.V2G_OCSP_RESPONSES).u8(len(message.responses))
    for response in message.responses:
        w.blob(bytes(response), max_bytes=MAX_OCSP_RESPONSE)
    return w


def _v2g_ocsp_responses(r: Reader) -> V2gOcspResponses:
    count = r.u8()
    if count > MAX_OCSP_RESPONSES:
        raise MalformedMessage(f"{count} OCSP responses, at most {MAX_OCSP_RESPONSES}")
    responses = tuple(r.blob(max_bytes=MAX_OCSP_RESPONSE) for _ in range(count))
    if not all(responses):
        raise MalformedMessage("empty OCSP response")
    return V2gOcspResponses(responses)


OCSP_DECODERS: Final[Mapping[int, Callable[[Reader], V2gOcspResponses]]] = {
    OcspMessageType.V2G_OCSP_RESPONSES: _v2g_ocsp_responses,
}
