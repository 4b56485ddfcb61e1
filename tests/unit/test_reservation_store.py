"""The persistent shell `Reservations` against a real SQLite file: decisions applied, persisted, reopened."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.errors import StorageError
from evse.ocpp.v201 import schemas
from evse.ocpp.v201.wire import Wire201
from evse.station.core.reservation_book import CancelStatus, EvseView, IdToken, Reservation, ReserveStatus
from evse.station.shell.reservations import Reservations
from evse.storage import open_database

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1]), (2, [1])])
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALICE = IdToken("AA11BB22", "ISO14443")
BOB = IdToken("CC33DD44", "ISO14443")
FLEET = IdToken("FLEET-1", "Central")
EVSES = {1: EvseView("Available", ("cType2",)), 2: EvseView("Available", ("cCCS2",))}


class Clock:
    def __init__(self) -> None:
        self.moment = START

    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return self.moment

    def set_now(self, utc: datetime) -> None:
        self.moment = utc


def device_model(**overrides: object) -> DeviceModel:
    values: dict[str, object] = {"ReservationCtrlr.NonEvseSpecific": True}
    values.update({f"ReservationCtrlr.{key}": value for key, value in overrides.items()})
    return DeviceModel(DEFINITIONS, overrides=values)


def open_reservations(state_dir: Path, clock: Clock, dm: DeviceModel | None = None) -> Reservations:
    return Reservations(open_database(state_dir), dm or device_model(), clock)


def payloads(reservation_ids: list[int], status: str) -> list[dict[str, object]]:
    """The ReservationStatusUpdate payloads the station's 2.0.1 wire renders for the ids a method returned."""
    wire = Wire201(sender=None)  # type: ignore[arg-type]  # renders only, never calls
    out = []
    for reservation_id in reservation_ids:
        update = wire.reservation_update(reservation_id, status)
        payload = update.model_dump(mode="json", exclude_none=True)
        schemas.validate_request(update.ACTION, payload)
        out.append(payload)
    return out


def test_TC_B_24_CS_reservations_survive_a_reboot(tmp_path: Path) -> None:
    clock = Clock()
    first = open_reservations(tmp_path, clock)
    held = [
        Reservation(3, START + timedelta(minutes=30), ALICE, FLEET, 1),
        Reservation(1, START + timedelta(hours=2), BOB, None, None, "cCCS2"),
    ]
    for reservation in held:
        assert first.reserve(reservation, EVSES).status is ReserveStatus.Accepted

    again = open_reservations(tmp_path, clock)
    assert again.book == first.book
    assert list(again.book) == held  # acceptance order too: removal of a non-specific one depends on it
    assert again.reserved_evses(EVSES) == {1, 2}
    assert not again.allowed(1, BOB, None, EVSES)


def test_H01_refused_reservation_writes_nothing(tmp_path: Path) -> None:
    clock = Clock()
    store = open_reservations(tmp_path, clock, device_model(Enabled=False))
    outcome = store.reserve(Reservation(1, START + timedelta(minutes=5), ALICE, evse_id=1), EVSES)
    assert (outcome.status, outcome.reason) == (ReserveStatus.Rejected, "NotEnabled")
    assert len(open_reservations(tmp_path, clock).book) == 0


def test_H01_FR_01_enabled_is_read_at_each_request(tmp_path: Path) -> None:
    dm = device_model()
    store = open_reservations(tmp_path, Clock(), dm)
    dm.set_station_value("ReservationCtrlr", "Enabled", False)
    outcome = store.reserve(Reservation(1, START + timedelta(minutes=5), ALICE, evse_id=1), EVSES)
    assert outcome.status is ReserveStatus.Rejected
    dm.set_station_value("ReservationCtrlr", "Enabled", True)
    outcome = store.reserve(Reservation(1, START + timedelta(minutes=5), ALICE, evse_id=1), EVSES)
    assert outcome.status is ReserveStatus.Accepted


def test_H01_FR_19_shipped_definition_requires_an_evse_id(tmp_path: Path) -> None:
    store = Reservations(open_database(tmp_path), DeviceModel(DEFINITIONS), Clock())
    outcome = store.reserve(Reservation(1, START + timedelta(minutes=5), ALICE), EVSES)
    assert (outcome.status, outcome.reason) == (ReserveStatus.Rejected, "UnsupportedRequest")


def test_TC_H_07_CS_expiry_is_reported_and_persisted(tmp_path: Path) -> None:
    clock = Clock()
    store = open_reservations(tmp_path, clock)
    store.reserve(Reservation(8, START + timedelta(minutes=10), ALICE, evse_id=1), EVSES)
    assert store.next_expiry() == START + timedelta(minutes=10)
    assert store.expire() == []
    clock.moment += timedelta(minutes=10)
    assert payloads(store.expire(), "Expired") == [{"reservationId": 8, "reservationUpdateStatus": "Expired"}]
    assert store.next_expiry() is None
    assert len(open_reservations(tmp_path, clock).book) == 0


def test_H04_reservation_expired_while_switched_off_is_reported_at_start(tmp_path: Path) -> None:
    clock = Clock()
    open_reservations(tmp_path, clock).reserve(Reservation(8, START + timedelta(minutes=1), ALICE, evse_id=1), EVSES)
    clock.moment += timedelta(hours=1)
    assert payloads(open_reservations(tmp_path, clock).expire(), "Expired") == [
        {"reservationId": 8, "reservationUpdateStatus": "Expired"}
    ]


def test_TC_H_21_CS_out_of_service_evse_reports_removed(tmp_path: Path) -> None:
    clock = Clock()
    store = open_reservations(tmp_path, clock)
    store.reserve(Reservation(4, START + timedelta(minutes=10), ALICE, evse_id=1), EVSES)
    unavailable = {**EVSES, 1: EvseView("Unavailable", ("cType2",))}
    assert payloads(store.on_evse_status(1, unavailable), "Removed") == [
        {"reservationId": 4, "reservationUpdateStatus": "Removed"}
    ]
    assert store.on_evse_status(1, unavailable) == []
    assert len(open_reservations(tmp_path, clock).book) == 0


def test_TC_H_17_CS_cancel_is_persisted_and_not_reported(tmp_path: Path) -> None:
    clock = Clock()
    store = open_reservations(tmp_path, clock)
    store.reserve(Reservation(4, START + timedelta(minutes=10), ALICE, evse_id=1), EVSES)
    assert store.cancel(5) is CancelStatus.Rejected
    assert store.cancel(4) is CancelStatus.Accepted
    assert len(open_reservations(tmp_path, clock).book) == 0


def test_H03_use_is_persisted(tmp_path: Path) -> None:
    clock = Clock()
    store = open_reservations(tmp_path, clock)
    store.reserve(Reservation(4, START + timedelta(minutes=10), ALICE, FLEET, evse_id=1), EVSES)
    assert store.use(1, BOB, None, EVSES) is None
    assert store.use(1, BOB, FLEET, EVSES) == 4
    assert len(open_reservations(tmp_path, clock).book) == 0


def test_failed_write_keeps_the_previous_book(tmp_path: Path) -> None:
    conn = open_database(tmp_path)
    store = Reservations(conn, device_model(), Clock())
    store.reserve(Reservation(4, START + timedelta(minutes=10), ALICE, evse_id=1), EVSES)
    before = store.book
    conn.close()
    with pytest.raises(StorageError):
        store.cancel(4)
    assert store.book is before


def test_unreadable_database_is_a_storage_error(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "plain.sqlite3")
    conn.close()
    with pytest.raises(StorageError):
        Reservations(conn, device_model(), Clock())
