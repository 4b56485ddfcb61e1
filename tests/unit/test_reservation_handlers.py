"""ReserveNow / CancelReservation through a real RpcSession: frames in, schema-checked frames out."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.ocpp.rpc import Router, RpcSession
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.handlers.reservation import register, reservation_from_request
from evse.station.core.reservation_book import EvseView, IdToken
from evse.station.shell.reservations import Reservations
from evse.storage import open_database

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1]), (2, [1])])
TOKEN = {"idToken": "AA11BB22", "type": "ISO14443"}
EXPIRY = "2025-03-01T12:30:00Z"


class Clock:
    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def set_now(self, utc: datetime) -> None:
        raise AssertionError("not used")


class Station:
    """The handlers wired as the daemon would, with the core's callbacks recorded."""

    def __init__(self, state_dir: Path, **overrides: object) -> None:
        dm = DeviceModel(DEFINITIONS, overrides={f"ReservationCtrlr.{k}": v for k, v in overrides.items()})
        self.reservations = Reservations(open_database(state_dir), dm, Clock())
        self.evses = {1: EvseView("Available", ("cType2",)), 2: EvseView("Occupied", ("cCCS2",))}
        self.frames: list[list[Any]] = []
        self.changes: list[int] = []  # how many frames had left when on_change ran
        router = Router()
        register(router, self.reservations, lambda: self.evses, lambda: self.changes.append(len(self.frames)))
        self.session = RpcSession(self._send, router, message_timeout=lambda: 1.0)

    async def _send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        message_id = f"m{len(self.frames)}"
        await self.session.handle_frame(json.dumps([2, message_id, action, payload]))
        await asyncio.sleep(0)
        await self.session.drain()
        [answer] = [frame for frame in self.frames if frame[1] == message_id]
        return answer


async def test_TC_H_01_CS_accepted_answer_leaves_before_the_core_recomputes_statuses(tmp_path: Path) -> None:
    station = Station(tmp_path)
    answer = await station.call("ReserveNow", {"id": 1, "expiryDateTime": EXPIRY, "idToken": TOKEN, "evseId": 1})
    assert answer == [3, "m0", {"status": "Accepted"}]
    assert station.changes == [1]  # after the CALLRESULT: StatusNotification(Reserved) follows the answer
    assert station.reservations.reserved_evses(station.evses) == {1}


async def test_TC_H_04_CS_occupied_evse_answers_occupied_without_change(tmp_path: Path) -> None:
    station = Station(tmp_path)
    answer = await station.call("ReserveNow", {"id": 1, "expiryDateTime": EXPIRY, "idToken": TOKEN, "evseId": 2})
    assert answer[2] == {"status": "Occupied"}
    assert station.changes == []


async def test_TC_H_22_CS_disabled_answers_rejected_with_a_reason(tmp_path: Path) -> None:
    station = Station(tmp_path, Enabled=False)
    answer = await station.call("ReserveNow", {"id": 1, "expiryDateTime": EXPIRY, "idToken": TOKEN, "evseId": 1})
    assert answer[2]["status"] == "Rejected"
    assert answer[2]["statusInfo"]["reasonCode"] == "NotEnabled"


async def test_TC_H_13_CS_unspecified_evse_rejected_by_the_shipped_configuration(tmp_path: Path) -> None:
    station = Station(tmp_path)
    answer = await station.call("ReserveNow", {"id": 1, "expiryDateTime": EXPIRY, "idToken": TOKEN})
    assert answer[2]["status"] == "Rejected"
    assert answer[2]["statusInfo"]["reasonCode"] == "UnsupportedRequest"


async def test_TC_H_15_CS_connector_type_reservation(tmp_path: Path) -> None:
    station = Station(tmp_path, NonEvseSpecific=True)
    answer = await station.call(
        "ReserveNow", {"id": 1, "expiryDateTime": EXPIRY, "idToken": TOKEN, "connectorType": "cType2"}
    )
    assert answer[2] == {"status": "Accepted"}
    assert station.reservations.reserved_evses(station.evses) == {1}


async def test_TC_H_17_CS_cancel_accepted_then_the_core_recomputes(tmp_path: Path) -> None:
    station = Station(tmp_path)
    await station.call("ReserveNow", {"id": 1, "expiryDateTime": EXPIRY, "idToken": TOKEN, "evseId": 1})
    answer = await station.call("CancelReservation", {"reservationId": 1})
    assert answer[2] == {"status": "Accepted"}
    assert station.changes == [1, 2]  # each after its CALLRESULT
    assert station.reservations.reserved_evses(station.evses) == frozenset()


async def test_TC_H_18_CS_cancel_of_an_unknown_reservation_is_rejected(tmp_path: Path) -> None:
    station = Station(tmp_path)
    answer = await station.call("CancelReservation", {"reservationId": 1})
    assert answer[2]["status"] == "Rejected"
    assert answer[2]["statusInfo"]["reasonCode"] == "NotFound"
    assert station.changes == []


def test_reservation_from_request_keeps_what_identifies_the_tokens() -> None:
    request = m.ReserveNowRequest.model_validate(
        {
            "id": 9,
            "expiryDateTime": "2025-03-01T12:30:00",  # no offset: read as UTC
            "idToken": {**TOKEN, "additionalInfo": [{"additionalIdToken": "x", "type": "y"}]},
            "groupIdToken": {"idToken": "FLEET-1", "type": "Central"},
            "connectorType": "s309-1P-16A",
        }
    )
    reservation = reservation_from_request(request)
    assert reservation.expiry == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    assert reservation.id_token == IdToken("AA11BB22", "ISO14443")
    assert reservation.group_id_token == IdToken("FLEET-1", "Central")
    assert (reservation.evse_id, reservation.connector_type) == (None, "s309-1P-16A")
