"""Reservations' shell: reads the ReservationCtrlr variables and the clock, persists the pure
`ReservationBook` (evse.station.core.reservation_book) in one SQLite transaction before it becomes current
(a reservation survives a reboot, TC_B_24), and tells the station which reservations ended unused, for the
ReservationStatusUpdate the station's wire renders."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime

from evse.clock import Clock
from evse.devicemodel.model import DeviceModel
from evse.errors import DeviceModelError, StorageError
from evse.station.core.reservation_book import (
    CancelStatus,
    EvseView,
    IdToken,
    Reservation,
    ReservationBook,
    ReservationSettings,
    ReserveOutcome,
)
from evse.storage import Migration, migrate, transaction

log = logging.getLogger(__name__)

MIGRATIONS = [
    Migration(
        part="reservations",
        version=1,
        statements=[
            """
            CREATE TABLE reservations (
                id                  INTEGER PRIMARY KEY,
                position            INTEGER NOT NULL,
                expiry              TEXT    NOT NULL,
                id_token            TEXT    NOT NULL,
                id_token_type       TEXT    NOT NULL,
                group_id_token      TEXT,
                group_id_token_type TEXT,
                evse_id             INTEGER,
                connector_type      TEXT
            )
            """
        ],
    )
]

_Row = tuple[int, int, str, str, str, str | None, str | None, int | None, str | None]


def _to_row(position: int, r: Reservation) -> _Row:
    group = r.group_id_token
    return (
        r.id,
        position,
        r.expiry.astimezone(UTC).isoformat(),
        r.id_token.value,
        r.id_token.type,
        group.value if group is not None else None,
        group.type if group is not None else None,
        r.evse_id,
        r.connector_type,
    )


def _from_row(row: _Row) -> Reservation:
    rid, _, expiry, token, token_type, group, group_type, evse_id, connector_type = row
    return Reservation(
        id=rid,
        expiry=datetime.fromisoformat(expiry),
        id_token=IdToken(token, token_type),
        group_id_token=IdToken(group, group_type) if group is not None and group_type is not None else None,
        evse_id=evse_id,
        connector_type=connector_type,
    )


class Reservations:
    """The station's reservations: the current book, persisted in its own table of the station database.

    Each change is written (one transaction, the whole book: it holds a handful of rows) before it becomes
    current, so a failed write raises StorageError and leaves the previous book in force. Methods that end
    reservations return the ids of those ended, which the station tells the CSMS (ReservationStatusUpdate);
    after any change the core recomputes which connectors show Reserved (`reserved_evses`).
    The object belongs to the event loop; its blocking writes are single small transactions.
    """

    def __init__(self, conn: sqlite3.Connection, dm: DeviceModel, clock: Clock) -> None:
        """Attach to `conn` (from evse.storage.open_database) and load what was reserved before a reboot."""
        self._conn = conn
        self._dm = dm
        self._clock = clock
        try:
            migrate(conn, MIGRATIONS)
            rows = conn.execute(
                "SELECT id, position, expiry, id_token, id_token_type, group_id_token, group_id_token_type,"
                " evse_id, connector_type FROM reservations ORDER BY position"
            ).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot load reservations: {exc}") from exc
        self._book = ReservationBook(tuple(_from_row(row) for row in rows))

    @property
    def book(self) -> ReservationBook:
        return self._book

    def settings(self) -> ReservationSettings:
        """ReservationCtrlr as it is now (Enabled is ReadWrite: SetVariables applies at the next request)."""
        return ReservationSettings(
            enabled=self._flag("Available", False) and self._flag("Enabled", False),
            non_evse_specific=self._flag("NonEvseSpecific", False),
        )

    def _flag(self, variable: str, default: bool) -> bool:
        try:
            return self._dm.get_bool("ReservationCtrlr", variable)
        except DeviceModelError:  # a layout without the variable: the feature is absent
            return default

    def _commit(self, book: ReservationBook) -> None:
        rows = [_to_row(position, r) for position, r in enumerate(book)]
        try:
            with transaction(self._conn):
                self._conn.execute("DELETE FROM reservations")
                self._conn.executemany("INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store reservations: {exc}") from exc
        self._book = book

    def reserve(self, reservation: Reservation, evses: Mapping[int, EvseView]) -> ReserveOutcome:
        """ReserveNow (H01): judged by the book, persisted if Accepted."""
        outcome, book = self._book.reserve(reservation, evses, self._clock.now(), self.settings())
        if book is not self._book:
            self._commit(book)
        log.info(
            "reserve reservation=%s evse=%s type=%s -> %s",
            reservation.id,
            reservation.evse_id,
            reservation.connector_type,
            outcome.status.value,
        )
        return outcome

    def cancel(self, reservation_id: int) -> CancelStatus:
        """CancelReservation (H02). Works even while reservations are disabled, so the CSMS can clean up."""
        status, book = self._book.cancel(reservation_id)
        if book is not self._book:
            self._commit(book)
        log.info("cancel reservation=%s -> %s", reservation_id, status.value)
        return status

    def expire(self) -> list[int]:
        """End what has expired (H04); call at `next_expiry()` and at start-up. The ids of the reservations
        ended, each to be told to the CSMS as Expired."""
        ended, book = self._book.expire(self._clock.now())
        if ended:
            self._commit(book)
            log.info("expired reservations=%s", ",".join(str(r.id) for r in ended))
        return [r.id for r in ended]

    def on_evse_status(self, evse_id: int, evses: Mapping[int, EvseView]) -> list[int]:
        """An EVSE's status changed (`evses` is the new state): remove what it invalidated (H01.FR.16/17).
        The ids of the reservations removed, each to be told to the CSMS as Removed."""
        removed, book = self._book.on_evse_status(evse_id, evses)
        if removed:
            self._commit(book)
            log.info("removed reservations=%s evse=%s", ",".join(str(r.id) for r in removed), evse_id)
        return [r.id for r in removed]

    def allowed(
        self, evse_id: int, id_token: IdToken, group_id_token: IdToken | None, evses: Mapping[int, EvseView]
    ) -> bool:
        """May this authorized token charge at `evse_id`? (See ReservationBook.allowed.)"""
        return self._book.allowed(evse_id, id_token, group_id_token, evses, self._clock.now())

    def use(
        self, evse_id: int, id_token: IdToken, group_id_token: IdToken | None, evses: Mapping[int, EvseView]
    ) -> int | None:
        """Consume the token's reservation for `evse_id` (H03); the reservationId for the TransactionEvent."""
        reservation_id, book = self._book.use(evse_id, id_token, group_id_token, evses, self._clock.now())
        if reservation_id is not None:
            self._commit(book)
            log.info("used reservation=%s evse=%s", reservation_id, evse_id)
        return reservation_id

    def reserved_evses(self, evses: Mapping[int, EvseView]) -> frozenset[int]:
        """EVSEs whose connectors must show Reserved now."""
        return self._book.reserved_evses(evses)

    def next_expiry(self) -> datetime | None:
        return self._book.next_expiry()
