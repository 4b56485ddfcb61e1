"""Block N, customer information (N09 report, N10 clear) as the OCTT drives it: CustomerInformation from the
CSMS, NotifyCustomerInformation back, and the station's records of the customer before and after."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from evse.ocpp.v201.tokens import IdTokenInfoJson
from evse.station.core.tokens import CacheEntry, token_key
from evse.station.shell.auth_store import AuthStore
from evse.storage import open_database
from tests.conformance.octt import ISO, VALID, cache, local_list, until, wire_checked
from tests.integration.conftest import STATION_ID, StationUnderTest

__all__ = ["wire_checked"]

Payload = dict[str, Any]
STRANGER = "0BADCAFE"
KEY = token_key(VALID, ISO)


async def customer_information(csms: DevCsms, request_id: int, **fields: Any) -> str:
    answer = await csms.call(STATION_ID, call.CustomerInformation(request_id=request_id, **fields))
    return str(answer.status)


async def notifications(csms: DevCsms, request_id: int) -> list[Payload]:
    """Every NotifyCustomerInformation of one request, checking the framing: seqNo 0.., tbc on all but the
    last, none longer than 512 characters."""
    parts: list[Payload] = []
    while not parts or parts[-1].get("tbc"):
        parts.append(await csms.wait_for("NotifyCustomerInformation", predicate=lambda p: p["requestId"] == request_id))
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert all(len(p["data"]) <= 512 for p in parts)
    return parts


def text(parts: list[Payload]) -> str:
    return "".join(p["data"] for p in parts)


def auth_store(sut: StationUnderTest) -> AuthStore:
    """The station's authorization tables, read through a connection of the test's own."""
    return AuthStore(open_database(sut.settings.state_dir), IdTokenInfoJson())


def cached(sut: StationUnderTest) -> CacheEntry | None:
    return auth_store(sut).cache_get(KEY)


def snake(value: str) -> Payload:
    return {"id_token": value, "type": ISO}


async def session(csms: DevCsms, sut: StationUnderTest) -> str:
    """One whole charging session with the VALID card on EVSE 1; its transaction id."""
    sut.d.board.plug(1)
    sut.d.board.swipe(1, VALID)
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started")
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended")
    return str(started["transactionInfo"]["transactionId"])


async def test_TC_N_27_CS_get_customer_information_with_data(csms: DevCsms, station: StationUnderTest) -> None:
    """N09: the report names what the station holds for the idToken: its Authorization Cache entry and its
    journaled transactions (TC_N_30 has a Local Authorization List entry: a listed token is not cached)."""
    tx_id = await session(csms, station)
    cache(station, VALID, "Accepted")
    assert await customer_information(csms, 1, report=True, clear=False, id_token=snake(VALID)) == "Accepted"
    data = text(await notifications(csms, 1))
    assert "AuthorizationCache: idToken AABBCCDD (ISO14443) status Accepted" in data
    assert f"Transaction {tx_id}: EVSE 1" in data
    assert cached(station) is not None  # a report clears nothing


async def test_TC_N_28_CS_get_customer_information_no_data(csms: DevCsms, station: StationUnderTest) -> None:
    assert await customer_information(csms, 2, report=True, clear=False, id_token=snake(STRANGER)) == "Accepted"
    [part] = await notifications(csms, 2)
    assert part["data"] == ""


async def test_TC_N_29_CS_TC_N_33_CS_customer_information_not_accepted(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """No customer named (or two at once): Invalid; neither report nor clear asked: Rejected. Either way
    no NotifyCustomerInformation follows and nothing is cleared."""
    cache(station, VALID, "Accepted")
    assert await customer_information(csms, 3, report=True, clear=True) == "Invalid"
    both = await customer_information(
        csms, 4, report=False, clear=True, id_token=snake(VALID), customer_identifier="c1"
    )
    assert both == "Invalid"
    assert await customer_information(csms, 5, report=False, clear=False, id_token=snake(VALID)) == "Rejected"
    assert await customer_information(csms, 6, report=True, clear=False, id_token=snake(STRANGER)) == "Accepted"
    await notifications(csms, 6)  # a later request is answered: the refused ones sent nothing before it
    assert [p["requestId"] for p in csms.received("NotifyCustomerInformation")] == [6]
    assert cached(station) is not None


async def test_TC_N_30_CS_clear_and_report_with_data(csms: DevCsms, station: StationUnderTest) -> None:
    """N10: the report shows the data as it was, then it is gone: cache and list entries removed, the
    token no longer in the journaled transaction; a second report finds nothing."""
    await local_list(csms, {VALID: {"status": "Accepted"}})
    tx_id = await session(csms, station)
    assert await customer_information(csms, 7, report=True, clear=True, id_token=snake(VALID)) == "Accepted"
    data = text(await notifications(csms, 7))
    assert "LocalAuthorizationList: idToken AABBCCDD" in data and f"Transaction {tx_id}" in data
    await until(lambda: auth_store(station).list_get(KEY) is None)
    assert station.d.station.tx_journal.of_token(VALID, ISO) == []
    assert await customer_information(csms, 8, report=True, clear=False, id_token=snake(VALID)) == "Accepted"
    assert text(await notifications(csms, 8)) == ""


async def test_TC_N_31_CS_clear_and_report_no_data(csms: DevCsms, station: StationUnderTest) -> None:
    assert await customer_information(csms, 9, report=True, clear=True, id_token=snake(STRANGER)) == "Accepted"
    [part] = await notifications(csms, 9)
    assert part["data"] == ""


async def test_TC_N_32_CS_clear_and_no_report(csms: DevCsms, station: StationUnderTest) -> None:
    """N10 without report: one notification says what was removed (counts, no personal data)."""
    cache(station, VALID, "Accepted")
    assert await customer_information(csms, 10, report=False, clear=True, id_token=snake(VALID)) == "Accepted"
    [part] = await notifications(csms, 10)
    assert part["data"].startswith("Cleared: AuthorizationCache 1,")
    assert VALID not in part["data"]
    assert cached(station) is None


async def test_TC_N_62_CS_TC_N_63_CS_clear_by_customer_identifier_or_certificate(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """The station keeps nothing per customerIdentifier or customer certificate: Accepted, and the
    notification holds no data (for the clear: nothing removed); idToken records stay untouched."""
    cache(station, VALID, "Accepted")
    assert (
        await customer_information(csms, 11, report=True, clear=True, customer_identifier="customer-42") == "Accepted"
    )
    assert text(await notifications(csms, 11)) == ""
    certificate = {
        "hash_algorithm": "SHA256",
        "issuer_name_hash": "a" * 64,
        "issuer_key_hash": "b" * 64,
        "serial_number": "01",
    }
    assert await customer_information(csms, 12, report=True, clear=True, customer_certificate=certificate) == "Accepted"
    assert text(await notifications(csms, 12)) == ""
    assert cached(station) is not None


async def test_long_customer_report_is_split(csms: DevCsms, station: StationUnderTest) -> None:
    """A report longer than 512 characters spans several notifications (seqNo, tbc), none cut mid-line
    where a line fits, and together they hold every record."""
    journal = station.d.station.tx_journal
    ids = [f"journaled-{i:02d}-0000-0000-0000-000000000000"[:36] for i in range(12)]
    for tx_id in ids:  # sessions of earlier days, as the journal keeps them
        journal.open(tx_id, 1, 1, (VALID, ISO), None, "EVConnected", 1234.0)
        journal.close(tx_id)
    assert await customer_information(csms, 13, report=True, clear=False, id_token=snake(VALID)) == "Accepted"
    parts = await notifications(csms, 13)
    assert len(parts) > 1
    lines = "\n".join(p["data"] for p in parts).split("\n")
    assert [line.split(":")[0] for line in lines] == [f"Transaction {tx_id}" for tx_id in ids]
