"""M06: the OCSP responses the dev CSMS signs are read by the station's OCSP cache (real DER, real
`cryptography`), cached until their nextUpdate, and refused when they are not successful responses."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from drivers.interfaces import HashAlgorithm, OcspRequestData
from evse.clock import SystemClock
from evse.devcsms.pnc import PlugAndChargeCsms
from evse.ocpp.v201.wire.tokens import request_data
from evse.station.core.contract_auth import OcspStatus
from evse.station.shell.ocsp_cache import OcspCache, parse_ocsp_result
from evse.station.shell.wire_tokens import OcspAnswer

ENTRY = OcspRequestData(
    HashAlgorithm.SHA256,
    hashlib.sha256(b"issuer name").hexdigest(),
    hashlib.sha256(b"issuer key").hexdigest(),
    "0a1b2c",
    "http://ocsp.example/",
)


def payload(entry: OcspRequestData) -> dict[str, object]:
    return {"ocspRequestData": request_data(entry).model_dump(exclude_none=True)}


def test_a_good_response_is_valid_until_its_next_update() -> None:
    clock = SystemClock()
    csms = PlugAndChargeCsms(clock)
    answer = csms.certificate_status(payload(ENTRY))
    parsed = parse_ocsp_result(answer.ocsp_result, clock.now())
    assert parsed.status is OcspStatus.GOOD
    assert abs(parsed.next_update - (clock.now() + timedelta(hours=1))) < timedelta(seconds=5)


def test_a_revoked_serial_reads_revoked() -> None:
    clock = SystemClock()
    csms = PlugAndChargeCsms(clock)
    csms.revoked_serials.add("0A1B2C")
    assert (
        parse_ocsp_result(csms.certificate_status(payload(ENTRY)).ocsp_result, clock.now()).status is OcspStatus.REVOKED
    )


def test_garbage_is_not_an_ocsp_response() -> None:
    with pytest.raises(ValueError):
        parse_ocsp_result("bm90IGFuIE9DU1AgcmVzcG9uc2U=", SystemClock().now())


async def test_the_cache_asks_once_per_certificate_while_valid() -> None:
    clock = SystemClock()
    csms = PlugAndChargeCsms(clock)
    asked: list[str] = []

    async def ask(entry: OcspRequestData) -> OcspAnswer:
        asked.append(entry.serial_number)
        answer = csms.certificate_status(payload(entry))
        return OcspAnswer(answer.status, answer.ocsp_result)

    cache = OcspCache(clock)
    first = await cache.refresh((ENTRY,), ask)
    second = await cache.refresh((ENTRY,), ask)
    assert asked == ["0a1b2c"]
    assert first == second and first[0] is not None and first[0].status is OcspStatus.GOOD
    csms.ocsp_validity = timedelta(seconds=-1)  # a response already past its nextUpdate is not kept
    other = OcspRequestData(ENTRY.hash_algorithm, ENTRY.issuer_name_hash, ENTRY.issuer_key_hash, "ff", "http://o/")
    await cache.refresh((other,), ask)
    await cache.refresh((other,), ask)
    assert asked == ["0a1b2c", "ff", "ff"]
    assert cache.lookup(other) is None
