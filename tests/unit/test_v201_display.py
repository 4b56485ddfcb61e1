"""Display messages to and from OCPP 2.0.1 (evse/ocpp/v201/display.py), and the records of the station
database read back through the 2.0.1 adapter (a record written by an earlier release included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.display import DisplayRecords201, info_from_message, message_from_info
from evse.station.core.display_rules import DisplayMessage, MessageState, Priority
from evse.station.shell.display_messages import CsmsDisplayMessage, DisplayMessageStore, DisplayTarget, as_rule
from evse.storage import open_database

#: A row of the display_messages table as the release before the neutral shell wrote it (MessageInfoType JSON).
OLD_RECORD = (
    '{"id":7,"priority":"AlwaysFront","message":{"format":"UTF8","content":"Closed at 22:00","language":"en"},'
    '"display":{"name":"Display","evse":{"id":2,"connectorId":1}},"state":"Idle",'
    '"startDateTime":"2025-03-01T12:00:00Z","endDateTime":"2025-03-02T12:00:00Z","transactionId":"tx-9"}'
)


def full_info() -> m.MessageInfoType:
    """Every field of MessageInfoType set, customData at each of its four places."""
    return m.MessageInfoType.model_validate(
        {
            "id": 4,
            "priority": "InFront",
            "message": {
                "format": "HTML",
                "language": "nl",
                "content": "<b>Welkom</b>",
                "customData": {"vendorId": "acme", "font": "big"},
            },
            "display": {
                "name": "Display",
                "instance": "front",
                "evse": {"id": 1, "connectorId": 2, "customData": {"vendorId": "acme", "side": "left"}},
                "customData": {"vendorId": "acme", "panel": 3},
            },
            "state": "Charging",
            "startDateTime": "2025-03-01T12:00:00+00:00",
            "endDateTime": "2025-03-01T13:00:00+00:00",
            "transactionId": "tx-1",
            "customData": {"vendorId": "acme", "tag": [1, 2]},
        }
    )


def test_every_field_survives_the_round_trip() -> None:
    info = full_info()
    message = message_from_info(info)
    assert message.shown.priority is Priority.InFront and message.shown.state is MessageState.Charging
    assert message.display == DisplayTarget(
        "Display",
        "front",
        1,
        2,
        vendor_data='{"vendorId":"acme","panel":3}',
        evse_vendor_data='{"vendorId":"acme","side":"left"}',
    )
    assert info_from_message(message) == info
    assert info_from_message(message).model_dump(mode="json", exclude_none=True) == info.model_dump(
        mode="json", exclude_none=True
    )


def test_a_message_without_display_is_for_every_display() -> None:
    info = m.MessageInfoType.model_validate(
        {"id": 1, "priority": "NormalCycle", "message": {"format": "ASCII", "content": "hi"}}
    )
    message = message_from_info(info)
    assert message.display is None and as_rule(message, 1.0).evse_id is None
    assert info_from_message(message).model_dump(exclude_none=True) == {
        "id": 1,
        "priority": "NormalCycle",
        "message": {"format": "ASCII", "content": "hi"},
    }


def test_the_rule_view_takes_the_evse_of_the_display() -> None:
    rule = as_rule(message_from_info(full_info()), 5.0)
    assert (rule.id, rule.evse_id, rule.format, rule.language, rule.transaction_id, rule.set_at) == (
        4,
        1,
        "HTML",
        "nl",
        "tx-1",
        5.0,
    )


def test_a_record_of_the_previous_release_loads_and_is_reported_as_set(tmp_path: Path) -> None:
    conn = open_database(tmp_path)
    DisplayMessageStore(conn, DisplayRecords201())  # creates the table
    conn.execute("INSERT INTO display_messages(id, info, set_at) VALUES (7, ?, 3.0)", (OLD_RECORD,))

    store = DisplayMessageStore(conn, DisplayRecords201())
    message = store.message(7)
    assert message == CsmsDisplayMessage(
        DisplayMessage(
            id=7,
            priority=Priority.AlwaysFront,
            content="Closed at 22:00",
            format="UTF8",
            language="en",
            state=MessageState.Idle,
            start=datetime(2025, 3, 1, 12, tzinfo=UTC),
            end=datetime(2025, 3, 2, 12, tzinfo=UTC),
            transaction_id="tx-9",
            evse_id=2,
        ),
        display=DisplayTarget("Display", evse_id=2, connector_id=1),
    )
    assert [rule.set_at for rule in store.rules()] == [3.0]
    assert info_from_message(message).model_dump(mode="json", exclude_none=True) == json.loads(OLD_RECORD)


def test_records_written_now_are_the_previous_release_format(tmp_path: Path) -> None:
    conn = open_database(tmp_path)
    store = DisplayMessageStore(conn, DisplayRecords201())
    store.put(message_from_info(full_info()))
    (text,) = conn.execute("SELECT info FROM display_messages WHERE id = 4").fetchone()
    assert m.MessageInfoType.model_validate(json.loads(text)) == full_info()
    assert DisplayMessageStore(conn, DisplayRecords201()).message(4) == message_from_info(full_info())


@pytest.mark.parametrize(
    "text", ["not json", '{"id": 1}', '{"id":1,"priority":"Loud","message":{"format":"UTF8","content":"x"}}']
)
def test_an_unreadable_record_is_dropped(tmp_path: Path, text: str) -> None:
    conn = open_database(tmp_path)
    DisplayMessageStore(conn, DisplayRecords201())
    conn.execute("INSERT INTO display_messages(id, info, set_at) VALUES (1, ?, 1.0)", (text,))
    store = DisplayMessageStore(conn, DisplayRecords201())
    assert len(store) == 0
    assert conn.execute("SELECT COUNT(*) FROM display_messages").fetchone() == (0,)
