"""OCTT block O, display messages (O01 set, O02 for a transaction, O03 get, O04 clear, O06 replace): the CSMS's
messages reach the simulated screen by their priority, state, time window and transaction."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.display import fast_pages, in_seconds, message, redrawn, screen, set_message, shows
from tests.conformance.octt import (
    energy_transfer_started,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.integration.conftest import STATION_ID, StationUnderTest


async def get_messages(csms: DevCsms, request_id: int, **criteria: Any) -> str:
    answer = await csms.call(STATION_ID, call.GetDisplayMessages(request_id=request_id, **criteria))
    return str(answer.status)


async def notified(csms: DevCsms, request_id: int) -> list[dict[str, Any]]:
    """Every MessageInfo of the NotifyDisplayMessages parts answering ``request_id`` (up to the one without tbc)."""
    items: list[dict[str, Any]] = []
    while True:
        part = await csms.wait_for(
            "NotifyDisplayMessages",
            predicate=lambda p: p["requestId"] == request_id and all(i not in items for i in p["messageInfo"]),
            timeout=5,
        )
        items.extend(part["messageInfo"])
        if not part.get("tbc", False):
            return items


async def test_TC_O_01_CS_set_display_message_is_shown(station: StationUnderTest, csms: DevCsms) -> None:
    """O01.FR.01: an Accepted message is shown on the display (a NormalCycle one takes turns with the
    station's own page)."""
    fast_pages(station)
    assert await set_message(csms, 1, "Happy charging", "NormalCycle") == "Accepted"
    await shows(station, "Happy charging")
    await shows(station, "Welcome")  # the cycle comes back to the station's page


async def test_TC_O_02_CS_get_all_display_messages(station: StationUnderTest, csms: DevCsms) -> None:
    """O03: GetDisplayMessages without criteria reports every stored message in NotifyDisplayMessages, split
    in parts (tbc on all but the last)."""
    for mid in range(1, 7):
        assert await set_message(csms, mid, f"message {mid}", "NormalCycle") == "Accepted"
    assert await get_messages(csms, 11) == "Accepted"
    items = await notified(csms, 11)
    assert sorted(i["id"] for i in items) == [1, 2, 3, 4, 5, 6]
    assert {i["message"]["content"] for i in items} == {f"message {n}" for n in range(1, 7)}
    assert len(csms.received("NotifyDisplayMessages")) == 2  # 4 + 2: the report was split


async def test_TC_O_03_CS_TC_O_33_CS_get_display_messages_none_configured(
    station: StationUnderTest, csms: DevCsms
) -> None:
    """O03.FR.04: nothing stored (or nothing matching): Unknown, and no NotifyDisplayMessages."""
    assert await get_messages(csms, 1) == "Unknown"
    assert await get_messages(csms, 2, id=[5]) == "Unknown"
    assert csms.received("NotifyDisplayMessages") == []


async def test_TC_O_04_CS_clear_display_message(station: StationUnderTest, csms: DevCsms) -> None:
    """O04: a cleared message leaves the screen and the store."""
    assert await set_message(csms, 3, "Cleared soon") == "Accepted"
    await shows(station, "Cleared soon")
    answer = await csms.call(STATION_ID, call.ClearDisplayMessage(id=3))
    assert answer.status == "Accepted"
    await until(lambda: "Cleared soon" not in screen(station))
    assert await get_messages(csms, 4) == "Unknown"


async def test_TC_O_05_CS_clear_unknown_display_message(station: StationUnderTest, csms: DevCsms) -> None:
    """O04.FR.02: an id the station does not hold: Unknown."""
    answer = await csms.call(STATION_ID, call.ClearDisplayMessage(id=99))
    assert answer.status == "Unknown"


async def test_TC_O_06_CS_message_bound_to_a_transaction(station: StationUnderTest, csms: DevCsms) -> None:
    """O02: a message for a transaction is shown during it (from its startDateTime) and removed when it ends."""
    started = await energy_transfer_started(station, csms)
    tx_id = started["transactionInfo"]["transactionId"]
    status = await set_message(
        csms, 7, "Your session", transaction_id=tx_id, start_date_time=in_seconds(-1), end_date_time=in_seconds(600)
    )
    assert status == "Accepted"
    await shows(station, "Your session")
    station.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)
    await until(lambda: "Your session" not in screen(station))
    assert await get_messages(csms, 8, id=[7]) == "Unknown"  # removed, not only hidden


async def test_TC_O_07_CS_TC_O_08_CS_TC_O_09_CS_get_specific_display_messages(
    station: StationUnderTest, csms: DevCsms
) -> None:
    """O03.FR.02/03: by id, by priority, by state; the criteria combine."""
    assert await set_message(csms, 1, "one", "NormalCycle", state="Idle") == "Accepted"
    assert await set_message(csms, 2, "two", "InFront", state="Charging") == "Accepted"
    assert await set_message(csms, 3, "three", "InFront") == "Accepted"
    assert await get_messages(csms, 21, id=[2]) == "Accepted"
    assert [i["id"] for i in await notified(csms, 21)] == [2]
    assert await get_messages(csms, 22, priority="InFront") == "Accepted"
    assert sorted(i["id"] for i in await notified(csms, 22)) == [2, 3]
    assert await get_messages(csms, 23, state="Idle") == "Accepted"
    assert [i["id"] for i in await notified(csms, 23)] == [1]


async def test_TC_O_10_CS_set_display_message_unknown_transaction(station: StationUnderTest, csms: DevCsms) -> None:
    """O02.FR.03: a transactionId the station does not run: UnknownTransaction, nothing stored."""
    assert await set_message(csms, 4, "Nobody's", transaction_id="no-such-tx") == "UnknownTransaction"
    assert await get_messages(csms, 5) == "Unknown"


async def test_TC_O_11_CS_TC_O_34_CS_TC_O_35_CS_get_display_messages_not_matching(
    station: StationUnderTest, csms: DevCsms
) -> None:
    """O03.FR.04: a known id whose state or priority does not match, or an unknown id: Unknown."""
    assert await set_message(csms, 1, "idle only", "InFront", state="Idle") == "Accepted"
    assert await get_messages(csms, 31, id=[1], state="Charging") == "Unknown"
    assert await get_messages(csms, 32, id=[1], priority="AlwaysFront") == "Unknown"
    assert await get_messages(csms, 33, id=[42]) == "Unknown"
    assert csms.received("NotifyDisplayMessages") == []


async def test_TC_O_12_CS_replace_display_message(station: StationUnderTest, csms: DevCsms) -> None:
    """O06.FR.01: a message with the id of a stored one replaces it."""
    assert await set_message(csms, 5, "First text") == "Accepted"
    await shows(station, "First text")
    assert await set_message(csms, 5, "Second text") == "Accepted"
    await shows(station, "Second text")
    assert "First text" not in screen(station)
    assert await get_messages(csms, 6) == "Accepted"
    assert [i["message"]["content"] for i in await notified(csms, 6)] == ["Second text"]


async def test_TC_O_13_CS_display_at_start_time(station: StationUnderTest, csms: DevCsms) -> None:
    """O01.FR.06: a message is not shown before its startDateTime, and is shown from then on."""
    assert await set_message(csms, 6, "Later on", start_date_time=in_seconds(2)) == "Accepted"
    assert "Later on" not in await redrawn(station)
    await shows(station, "Later on")


async def test_TC_O_14_CS_remove_after_end_time(station: StationUnderTest, csms: DevCsms) -> None:
    """O01.FR.07: after its endDateTime a message is removed (from the screen and the store)."""
    assert await set_message(csms, 8, "Short lived", end_date_time=in_seconds(2)) == "Accepted"
    await shows(station, "Short lived")
    await until(lambda: "Short lived" not in screen(station))
    assert await get_messages(csms, 9) == "Unknown"


async def test_TC_O_17_CS_not_supported_priority(make_station: Any, csms: DevCsms) -> None:
    """O01.FR.03: a priority outside DisplayMessageCtrlr.SupportedPriorities: NotSupportedPriority."""
    await make_station(device_model={"DisplayMessageCtrlr.SupportedPriorities": ["InFront", "NormalCycle"]})
    await csms.wait_for("StatusNotification", timeout=10)
    assert await set_message(csms, 1, "front!", "AlwaysFront") == "NotSupportedPriority"
    assert await set_message(csms, 1, "front", "InFront") == "Accepted"


async def test_TC_O_18_CS_not_supported_state(make_station: Any, csms: DevCsms) -> None:
    """O01.FR.04: a state outside DisplayMessageCtrlr.SupportedStates: NotSupportedState."""
    await make_station(device_model={"DisplayMessageCtrlr.SupportedStates": ["Charging", "Idle"]})
    await csms.wait_for("StatusNotification", timeout=10)
    assert await set_message(csms, 1, "broken", state="Faulted") == "NotSupportedState"
    assert await set_message(csms, 1, "charging", state="Charging") == "Accepted"


async def test_TC_O_19_CS_not_supported_message_format(station: StationUnderTest, csms: DevCsms) -> None:
    """O01.FR.02: a character LCD renders no HTML and follows no URI: NotSupportedMessageFormat."""
    request = call.SetDisplayMessage(message=message(1, "<b>hi</b>", fmt="HTML"))
    assert (await csms.call(STATION_ID, request)).status == "NotSupportedMessageFormat"
    request = call.SetDisplayMessage(message=message(2, "https://example.org", fmt="URI"))
    assert (await csms.call(STATION_ID, request)).status == "NotSupportedMessageFormat"
    assert await set_message(csms, 3, "plain", fmt="ASCII") == "Accepted"


async def test_TC_O_20_CS_persistent_over_reboot(station: StationUnderTest, csms: DevCsms, make_station: Any) -> None:
    """O01.FR.09: stored messages survive a reboot, and are shown again."""
    assert await set_message(csms, 9, "Still here") == "Accepted"
    await station.stop()
    again = await make_station()
    await csms.wait_for("StatusNotification", predicate=lambda p: True, timeout=10)
    await shows(again, "Still here")
    assert await get_messages(csms, 10) == "Accepted"
    assert [i["id"] for i in await notified(csms, 10)] == [9]


async def test_TC_O_22_CS_multiple_in_front(station: StationUnderTest, csms: DevCsms) -> None:
    """O01: several InFront messages are shown in turn, in front of the station's own page."""
    fast_pages(station)
    assert await set_message(csms, 1, "Front one") == "Accepted"
    assert await set_message(csms, 2, "Front two") == "Accepted"
    await shows(station, "Front one")
    await shows(station, "Front two")
    await shows(station, "Front one")
    assert "Welcome" not in screen(station)


async def test_TC_O_24_CS_second_always_front(station: StationUnderTest, csms: DevCsms) -> None:
    """O01: AlwaysFront hides everything else; a newer AlwaysFront message replaces the older one
    (MessagePriorityEnumType), so clearing the newer does not bring the older back."""
    fast_pages(station)
    assert await set_message(csms, 1, "In front", "InFront") == "Accepted"
    assert await set_message(csms, 2, "Always first", "AlwaysFront") == "Accepted"
    await shows(station, "Always first")
    assert "In front" not in await redrawn(station)
    assert await set_message(csms, 3, "Always second", "AlwaysFront") == "Accepted"
    await shows(station, "Always second")
    assert "Always first" not in await redrawn(station)
    assert await get_messages(csms, 4, priority="AlwaysFront") == "Accepted"
    assert [i["id"] for i in await notified(csms, 4)] == [3]
    await csms.call(STATION_ID, call.ClearDisplayMessage(id=3))
    await shows(station, "In front")


async def charging_tx(station: StationUnderTest, csms: DevCsms) -> str:
    started = await energy_transfer_started(station, csms)
    return str(started["transactionInfo"]["transactionId"])


async def test_TC_O_27_CS_transaction_message_at_start_time(station: StationUnderTest, csms: DevCsms) -> None:
    """O02 with O01.FR.06: a transaction's message waits for its startDateTime."""
    tx_id = await charging_tx(station, csms)
    assert await set_message(csms, 1, "Halfway there", transaction_id=tx_id, start_date_time=in_seconds(2)) == (
        "Accepted"
    )
    assert "Halfway there" not in await redrawn(station)
    await shows(station, "Halfway there")


async def test_TC_O_28_CS_transaction_message_removed_after_end_time(station: StationUnderTest, csms: DevCsms) -> None:
    """O02 with O01.FR.07: a transaction's message goes at its endDateTime, while the transaction runs on."""
    tx_id = await charging_tx(station, csms)
    assert await set_message(csms, 1, "Quick note", transaction_id=tx_id, end_date_time=in_seconds(2)) == "Accepted"
    await shows(station, "Quick note")
    await until(lambda: "Quick note" not in screen(station))
    assert await get_messages(csms, 2) == "Unknown"
    assert station.d.station.transaction_id_on(1) == tx_id


async def test_TC_O_30_CS_transaction_multiple_in_front(station: StationUnderTest, csms: DevCsms) -> None:
    """Two InFront messages of the transaction are shown in turn, in front of the charging page."""
    tx_id = await charging_tx(station, csms)
    fast_pages(station)
    assert await set_message(csms, 1, "Tx one", transaction_id=tx_id) == "Accepted"
    assert await set_message(csms, 2, "Tx two", transaction_id=tx_id) == "Accepted"
    await shows(station, "Tx one")
    await shows(station, "Tx two")
    await shows(station, "Tx one")
    assert "Charging" not in screen(station)


async def test_TC_O_32_CS_transaction_second_always_front(station: StationUnderTest, csms: DevCsms) -> None:
    """A second AlwaysFront message of the transaction takes the front from the first."""
    tx_id = await charging_tx(station, csms)
    assert await set_message(csms, 1, "First front", "AlwaysFront", transaction_id=tx_id) == "Accepted"
    await shows(station, "First front")
    assert await set_message(csms, 2, "Second front", "AlwaysFront", transaction_id=tx_id) == "Accepted"
    await shows(station, "Second front")
    assert "First front" not in await redrawn(station)
    assert await get_messages(csms, 3, priority="AlwaysFront") == "Accepted"
    assert [i["id"] for i in await notified(csms, 3)] == [2]


async def test_TC_O_36_CS_state_charging(station: StationUnderTest, csms: DevCsms) -> None:
    """A message for state Charging is shown only while a transaction runs."""
    assert await set_message(csms, 1, "While charging", state="Charging") == "Accepted"
    assert "While charging" not in await redrawn(station)
    await energy_transfer_started(station, csms)
    await shows(station, "While charging")


async def test_TC_O_37_CS_state_idle(station: StationUnderTest, csms: DevCsms) -> None:
    """A message for state Idle is shown while nothing happens, not during a transaction."""
    assert await set_message(csms, 1, "Free to use", state="Idle") == "Accepted"
    await shows(station, "Free to use")
    await energy_transfer_started(station, csms)
    assert "Free to use" not in await redrawn(station)


async def test_TC_O_38_CS_state_unavailable(station: StationUnderTest, csms: DevCsms) -> None:
    """A message for state Unavailable is shown once the EVSE is set Inoperative."""
    assert await set_message(csms, 1, "Maintenance", state="Unavailable") == "Accepted"
    assert "Maintenance" not in await redrawn(station)
    answer = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    assert answer.status == "Accepted"
    await shows(station, "Maintenance")


async def test_TC_O_39_CS_state_faulted(station: StationUnderTest, csms: DevCsms) -> None:
    """A message for state Faulted is shown while a fault is active, and no longer once it clears."""
    assert await set_message(csms, 1, "Call 0800", state="Faulted") == "Accepted"
    assert "Call 0800" not in await redrawn(station)
    station.d.board.raise_fault(1, "lock_failure")
    await shows(station, "Call 0800")
    station.d.board.clear_fault(1, "lock_failure")
    await until(lambda: "Call 0800" not in screen(station))


async def test_display_messages_store_is_bounded(station: StationUnderTest, csms: DevCsms) -> None:
    """DisplayMessageCtrlr.DisplayMessages maxLimit (16): a 17th id is Rejected, a replacement still fits;
    the variable's Actual counts the stored messages."""
    for mid in range(16):
        assert await set_message(csms, mid, f"m{mid}", "NormalCycle") == "Accepted"
    assert await set_message(csms, 99, "one too many", "NormalCycle") == "Rejected"
    assert await set_message(csms, 0, "replaced", "NormalCycle") == "Accepted"
    variable = {"component": {"name": "DisplayMessageCtrlr"}, "variable": {"name": "DisplayMessages"}}
    answer = await csms.call(STATION_ID, call.GetVariables(get_variable_data=[variable]))
    assert answer.get_variable_result[0]["attribute_value"] == "16"


async def test_the_station_page_follows_fault_and_availability(station: StationUnderTest, csms: DevCsms) -> None:
    """Without CSMS messages the screen tells the driver what the EVSE can do: out of order while a fault
    is active, unavailable while Inoperative, welcome again after."""
    await shows(station, "Welcome Present your card")
    station.d.board.raise_fault(1, "lock_failure")
    await shows(station, "Out of order lock_failure")
    station.d.board.clear_fault(1, "lock_failure")
    await shows(station, "Welcome")
    await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    await shows(station, "Unavailable")
    await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Operative", evse={"id": 1}))
    await shows(station, "Welcome")
