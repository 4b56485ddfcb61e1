"""What the OCTT cases of blocks C and H share: tokens, scripted CSMS answers, the reusable states.

The names follow the OCTT's reusable states (EVConnectedPreSession, EnergyTransferStarted,
StartOfflineTransaction) so a test reads like the case it is named after. Memory states the OCTT
prepares by hand ("IdTokenCached for ...") are prepared through the station's own Authorizer.record,
the path a TransactionEventResponse takes, so nothing of the station is bypassed or mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from ocpp.v201 import call

from evse.devcsms.frames import Direction, MessageType
from evse.devcsms.server import DevCsms
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.tokens import verdict_from_info
from tests.integration.conftest import STATION_ID, StationUnderTest

VALID = "AABBCCDD"  # the dev CSMS accepts it by default
VALID2 = "04A2B3C4D5E6F7"  # accepted too: a second driver's card
UNKNOWN = "0BADCAFE"  # the dev CSMS answers Invalid
MASTER = "DEADBEEF"
GROUP = "FLEET-1"
MASTER_GROUP = "POLICE"
ISO = "ISO14443"
QUIET = 0.4
"""How long a test waits to see that the station sends nothing more. It bounds no behaviour: a
station that sends the forbidden message later than this is caught by the next step or case."""

Payload = dict[str, Any]


@pytest.fixture(autouse=True)
async def wire_checked(csms: DevCsms) -> AsyncIterator[None]:
    """After every case: nothing the station sent failed the official schemas or the OCPP-J framing.
    Autouse in the modules that import it."""
    yield
    csms.assert_no_failures()


def token(value: str) -> Payload:
    return {"idToken": value, "type": ISO}


def info(status: str, group: str | None = None, **extra: Any) -> Payload:
    """An idTokenInfo as the CSMS sends it (camelCase)."""
    data: Payload = {"status": status, **extra}
    if group is not None:
        data["groupIdToken"] = {"idToken": group, "type": "Central"}
    return data


def tx(kind: str, **fields: Any) -> Callable[[Payload], bool]:
    """Predicate on a TransactionEventRequest: eventType and fields of it or of its transactionInfo."""

    def match(p: Payload) -> bool:
        if p["eventType"] != kind:
            return False
        return all(p.get(k, p["transactionInfo"].get(k)) == v for k, v in fields.items())

    return match


def assert_sequences_complete(csms: DevCsms) -> None:
    """E: every transaction's events carry seqNo 0, 1, 2, ... without gap or repeat, the first is Started
    and nothing follows Ended (the CSMS relies on this to know it has all of them)."""
    events: dict[str, list[Payload]] = {}
    for p in csms.received("TransactionEvent"):
        events.setdefault(p["transactionInfo"]["transactionId"], []).append(p)
    for tx_id, items in events.items():
        assert [p["seqNo"] for p in items] == list(range(len(items))), (tx_id, [p["seqNo"] for p in items])
        assert items[0]["eventType"] == "Started", (tx_id, items[0]["eventType"])
        assert all(p["eventType"] != "Ended" for p in items[:-1]), tx_id


def first_from_station(
    csms: DevCsms, kind: MessageType, action: str, predicate: Callable[[Payload], bool] = lambda p: True
) -> int:
    """Position in the wire log of the first frame of `kind` for `action` the station sent."""
    for frame in csms.log:
        wanted = (frame.direction, frame.message_type, frame.action) == (Direction.RECEIVED, kind, action)
        if wanted and predicate(frame.payload):
            return frame.seq
    raise AssertionError(f"no {kind.name} {action} from the station")


def status_is(status: str, evse_id: int = 1) -> Callable[[Payload], bool]:
    return lambda p: p["connectorStatus"] == status and p["evseId"] == evse_id


def authorize_answers(csms: DevCsms, answers: dict[str, Payload]) -> None:
    """Script AuthorizeResponse (and the idTokenInfo of TransactionEventResponse) per idToken; tokens
    not listed get the dev CSMS's default (Accepted for its known cards, Invalid otherwise)."""
    known = {k.upper(): v for k, v in answers.items()}

    def pick(id_token: Payload) -> Payload:
        value = str(id_token["idToken"]).upper()
        if value in known:
            return known[value]
        return info("Accepted" if value in {t.upper() for t in csms.tokens} else "Invalid")

    def authorize(payload: Payload) -> Payload:
        return {"idTokenInfo": pick(payload["idToken"])}

    def transaction_event(payload: Payload) -> Payload:
        return {"idTokenInfo": pick(payload["idToken"])} if "idToken" in payload else {}

    csms.respond("Authorize", authorize)
    csms.respond("TransactionEvent", transaction_event)


def cache(sut: StationUnderTest, value: str, status: str, group: str | None = None) -> None:
    """Memory state IdTokenCached: the entry an earlier answer of the CSMS would have left."""
    record = m.IdTokenInfoType.model_validate(info(status, group))
    sut.d.station.authorizer.record(value, ISO, verdict_from_info(record))


async def local_list(csms: DevCsms, entries: dict[str, Payload], version: int = 1) -> None:
    """Memory state IdTokenLocalAuthList: a full SendLocalList from the CSMS."""
    data = [{"id_token": {"id_token": k, "type": ISO}, "id_token_info": _snake(v)} for k, v in entries.items()]
    request = call.SendLocalList(version_number=version, update_type="Full", local_authorization_list=data)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"


def _snake(data: Payload) -> Payload:
    out: Payload = {"status": data["status"]}
    if "groupIdToken" in data:
        out["group_id_token"] = {"id_token": data["groupIdToken"]["idToken"], "type": data["groupIdToken"]["type"]}
    return out


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for a state of the board (the board is polled; it has no events for tests)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the simulated hardware offers nothing to await
            await asyncio.sleep(0.02)


def contactor_closed(sut: StationUnderTest, evse_id: int = 1) -> Callable[[], bool]:
    return lambda: sut.d.board.contactor(evse_id).is_closed


async def ev_connected(sut: StationUnderTest, csms: DevCsms, evse_id: int = 1) -> Payload:
    """Reusable state EVConnectedPreSession (TxStartPoint EVConnected: the transaction has started)."""
    sut.d.board.plug(evse_id)
    return await csms.wait_for("TransactionEvent", predicate=tx("Started", triggerReason="CablePluggedIn"), timeout=5)


async def energy_transfer_started(
    sut: StationUnderTest, csms: DevCsms, value: str = VALID, evse_id: int = 1
) -> Payload:
    """Reusable state EnergyTransferStarted: plugged, authorized by `value`, the EV draws, contactor closed.
    Returns the TransactionEvent that carried the authorization."""
    sut.d.board.plug(evse_id)
    sut.d.board.swipe(evse_id, value)
    authorized = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["triggerReason"] == "Authorized" and _at(p, evse_id), timeout=5
    )
    sut.d.board.set_ev_state(evse_id, "C")
    await until(contactor_closed(sut, evse_id))
    assert sut.d.board.lock(evse_id).is_locked  # the plug is held while power flows
    # The Updated (Charging) has reached the CSMS too, so a test counting events from here is not racing it.
    tx_id = authorized["transactionInfo"]["transactionId"]
    await until(
        lambda: any(
            p["transactionInfo"]["transactionId"] == tx_id and p["transactionInfo"].get("chargingState") == "Charging"
            for p in csms.received("TransactionEvent")
        )
    )
    return authorized


def _at(p: Payload, evse_id: int) -> bool:
    return "evse" not in p or p["evse"]["id"] == evse_id


async def go_offline(csms: DevCsms, sut: StationUnderTest) -> int:
    """The OCTT closes the websocket and refuses reconnects: the dev CSMS stops listening."""
    port = csms.port
    await csms.stop()
    await until(lambda: not sut.d.connection.is_connected)
    return port


async def back_online(csms: DevCsms, port: int) -> None:
    await csms.start(port=port)
    await csms.wait_connected(STATION_ID, timeout=15)


async def settle() -> None:
    """Give the station QUIET to send what it is going to send (before asserting what it did not)."""
    await asyncio.sleep(QUIET)


async def nothing_more(csms: DevCsms, action: str, before: int) -> None:
    """Nothing more of `action` than `before` arrives within QUIET (the OCTT waits its message timeout)."""
    await asyncio.sleep(QUIET)
    assert len(csms.received(action)) == before, csms.received(action)[before:]
