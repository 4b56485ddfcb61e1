"""Reservations (OCPP 2.0.1 H01-H04): the pure `ReservationBook`; evse.station.shell.reservations persists it.

The book decides, the shell persists. Every decision is a method of the immutable book that returns a
new book, so the rules can be tested exhaustively (hypothesis) without a database or a clock; the shell
reads the ReservationCtrlr variables and the clock, writes the resulting book in one SQLite transaction
before it becomes current (a reservation survives a reboot, TC_B_24) and tells the station core which
ReservationStatusUpdate messages to queue.

Rules, from OCPP 2.0.1 Part 2 block H (edition 3 with the 2025-09 errata):

- ReserveNow is Rejected while ReservationCtrlr.Available or .Enabled is false (H01.FR.01), and for a
  request without evseId unless ReservationCtrlr.NonEvseSpecific is true (H01.FR.18/19).
- A ReserveNow with the id of a held reservation replaces it (H01.FR.02): the request is judged as if the
  old one were gone. If the new one is refused, the old one stays: a refused request changes nothing.
- An EVSE-specific reservation needs that EVSE Available and not reserved; otherwise Occupied (occupied or
  reserved, H01.FR.11), Faulted or Unavailable after the EVSE's status.
- Non-specific reservations (no evseId, optionally a connectorType) are kept unbound: the book only
  guarantees that every one of them can get an Available EVSE of its own (a bipartite matching; without
  connector types this is "Available EVSEs >= non-specific reservations"). An Available EVSE is shown
  Reserved when a walk-in driver taking it would break that guarantee, so when the Available EVSEs are
  exactly as many as the reservations all of them are Reserved (TC_H_14, TC_H_16).
- A reserved EVSE that becomes Faulted or Unavailable loses its reservation, reported as Removed
  (H01.FR.16/17); so do non-specific reservations that no longer fit, newest first.
- A reservation is used by its idToken or by a token of the same groupIdToken (H03, H03.FR.09); any other
  token is refused at an EVSE held for someone else. Tokens compare by value, case-insensitively, and type
  (C01.FR.25). One that expires unused is reported Expired (H04.FR.01); CancelReservation is not
  reported (H02).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from evse.station.core.evse_fsm import ConnectorStatus


class ReserveStatus(StrEnum):
    """A reservation's answer (2.0.1 ReserveNowStatusEnumType, 1.6 ReservationStatus)."""

    Accepted = "Accepted"
    Faulted = "Faulted"
    Occupied = "Occupied"
    Rejected = "Rejected"
    Unavailable = "Unavailable"


class CancelStatus(StrEnum):
    Accepted = "Accepted"
    Rejected = "Rejected"


_Status = ReserveStatus
_CS = ConnectorStatus
# What a specific reservation answers for an EVSE that is not Available.
_REFUSAL_BY_STATUS = {
    _CS.Occupied: _Status.Occupied,
    _CS.Faulted: _Status.Faulted,
    _CS.Unavailable: _Status.Unavailable,
}


# ---- values ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IdToken:
    """An IdTokenType reduced to what identifies it; additionalInfo plays no part in comparisons (C01.FR.25)."""

    value: str
    type: str

    def matches(self, other: IdToken | None) -> bool:
        """Same token: equal type and, since idTokens are case-insensitive, equal value ignoring case."""
        return other is not None and self.type == other.type and self.value.casefold() == other.value.casefold()


@dataclass(frozen=True)
class EvseView:
    """What the reservation rules need to know of one EVSE, as the station core sees it.

    `status` is a ConnectorStatus value. Reserved is read as Available: which EVSE is reserved is this
    module's own knowledge, so the core may pass the status with or without its Reserved overlay.
    `connector_types` are ConnectorEnumType values; an EVSE without them matches no requested type.
    """

    status: str
    connector_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _CS(self.status)  # a typo in the caller must not silently read as "not available"

    @property
    def available(self) -> bool:
        return self.status in (_CS.Available, _CS.Reserved)

    def offers(self, connector_type: str | None) -> bool:
        return connector_type is None or connector_type in self.connector_types


@dataclass(frozen=True)
class Reservation:
    """One accepted ReserveNow. `evse_id` None: any EVSE (of `connector_type`, if given)."""

    id: int
    expiry: datetime
    id_token: IdToken
    group_id_token: IdToken | None = None
    evse_id: int | None = None
    connector_type: str | None = None

    def __post_init__(self) -> None:
        if self.expiry.tzinfo is None:
            raise ValueError("reservation expiry must be timezone-aware")

    def held_by(self, id_token: IdToken, group_id_token: IdToken | None) -> bool:
        """The reserved token itself, or any token of the reservation's group (H03)."""
        if self.id_token.matches(id_token):
            return True
        return self.group_id_token is not None and self.group_id_token.matches(group_id_token)


@dataclass(frozen=True)
class ReservationSettings:
    """The ReservationCtrlr variables the rules depend on (Available and Enabled folded into `enabled`)."""

    enabled: bool = True
    non_evse_specific: bool = False


@dataclass(frozen=True)
class ReserveOutcome:
    """The answer to a ReserveNow; `reason` becomes statusInfo.reasonCode of a refusal."""

    status: ReserveStatus
    reason: str | None = None
    detail: str | None = None


# ---- the pure core ---------------------------------------------------------------------------------------
def _free(evses: Mapping[int, EvseView], taken: Collection[int], exclude: Collection[int] = ()) -> list[int]:
    """Available EVSEs no specific reservation holds: the pool non-specific reservations draw from."""
    return sorted(e for e, view in evses.items() if view.available and e not in taken and e not in exclude)


def _fits(floating: Sequence[Reservation], pool: Sequence[int], evses: Mapping[int, EvseView]) -> bool:
    """Can every non-specific reservation have an EVSE of its own from `pool`? (Kuhn's matching; tiny sizes.)"""
    if len(floating) > len(pool):
        return False
    owner: dict[int, int] = {}

    def place(index: int, seen: set[int]) -> bool:
        for evse_id in pool:
            if evse_id in seen or not evses[evse_id].offers(floating[index].connector_type):
                continue
            seen.add(evse_id)
            if evse_id not in owner or place(owner[evse_id], seen):
                owner[evse_id] = index
                return True
        return False

    return all(place(index, set()) for index in range(len(floating)))


def _busiest(candidates: Sequence[EvseView]) -> _Status:
    """The refusal of a non-specific reservation: Occupied if any candidate is in use or reserved, else
    Faulted if any is faulted, else Unavailable (the order EVerest uses; the specification gives none)."""
    if any(view.available or view.status == _CS.Occupied for view in candidates):
        return _Status.Occupied
    if any(view.status == _CS.Faulted for view in candidates):
        return _Status.Faulted
    return _Status.Unavailable


@dataclass(frozen=True)
class ReservationBook:
    """All reservations the station holds, oldest acceptance first; every decision returns a new book."""

    reservations: tuple[Reservation, ...] = ()

    def __iter__(self) -> Iterator[Reservation]:
        return iter(self.reservations)

    def __len__(self) -> int:
        return len(self.reservations)

    def get(self, reservation_id: int) -> Reservation | None:
        return next((r for r in self.reservations if r.id == reservation_id), None)

    def next_expiry(self) -> datetime | None:
        """When `expire` has something to do next, so the shell can sleep until then."""
        return min((r.expiry for r in self.reservations), default=None)

    def _without(self, ids: Collection[int]) -> ReservationBook:
        return ReservationBook(tuple(r for r in self.reservations if r.id not in ids))

    def _live(self, now: datetime) -> ReservationBook:
        return ReservationBook(tuple(r for r in self.reservations if r.expiry > now))

    def _specific(self) -> dict[int, Reservation]:
        return {r.evse_id: r for r in self.reservations if r.evse_id is not None}

    def _floating(self) -> list[Reservation]:
        return [r for r in self.reservations if r.evse_id is None]

    # ---- H01 ---------------------------------------------------------------------------------------------
    def reserve(
        self,
        reservation: Reservation,
        evses: Mapping[int, EvseView],
        now: datetime,
        settings: ReservationSettings = ReservationSettings(),
    ) -> tuple[ReserveOutcome, ReservationBook]:
        """Judge a ReserveNow against the EVSEs' current states; the book changes only when Accepted."""
        if not settings.enabled:
            return ReserveOutcome(_Status.Rejected, "NotEnabled", "ReservationCtrlr is not enabled"), self
        if reservation.expiry <= now:
            return ReserveOutcome(_Status.Rejected, "InvalidValue", "expiryDateTime is not in the future"), self
        others = self._without({reservation.id})  # H01.FR.02: judged as if it already replaced its namesake
        specific, floating = others._specific(), others._floating()
        wanted = reservation.connector_type
        if reservation.evse_id is not None:
            view = evses.get(reservation.evse_id)
            if view is None:
                return ReserveOutcome(_Status.Rejected, "UnknownEvse", f"no EVSE {reservation.evse_id}"), self
            if not view.offers(wanted):
                return ReserveOutcome(_Status.Rejected, "UnknownConnectorType", f"EVSE has no {wanted}"), self
            refusal = _REFUSAL_BY_STATUS.get(_CS(view.status))
            if refusal is not None:
                return ReserveOutcome(refusal), self
            if reservation.evse_id in specific:
                return ReserveOutcome(_Status.Occupied, detail="EVSE already reserved"), self
            if not _fits(floating, _free(evses, {*specific, reservation.evse_id}), evses):
                return ReserveOutcome(_Status.Occupied, detail="EVSE needed by reservations for any EVSE"), self
        else:
            if not settings.non_evse_specific:
                return ReserveOutcome(_Status.Rejected, "UnsupportedRequest", "an evseId is required"), self
            candidates = [view for view in evses.values() if view.offers(wanted)]
            if not candidates:
                reason = "UnknownConnectorType" if wanted is not None else "UnknownEvse"
                return ReserveOutcome(_Status.Rejected, reason, "no EVSE to reserve"), self
            if not _fits([*floating, reservation], _free(evses, specific), evses):
                return ReserveOutcome(_busiest(candidates)), self
        return ReserveOutcome(_Status.Accepted), ReservationBook((*others.reservations, reservation))

    # ---- H02 ---------------------------------------------------------------------------------------------
    def cancel(self, reservation_id: int) -> tuple[CancelStatus, ReservationBook]:
        """Accepted and gone if held (H02.FR.02), else Rejected (H02.FR.01)."""
        if self.get(reservation_id) is None:
            return CancelStatus.Rejected, self
        return CancelStatus.Accepted, self._without({reservation_id})

    # ---- H04 and removal ---------------------------------------------------------------------------------
    def expire(self, now: datetime) -> tuple[tuple[Reservation, ...], ReservationBook]:
        """Reservations whose expiryDateTime has come (inclusive), and the book without them."""
        ended = tuple(r for r in self.reservations if r.expiry <= now)
        return ended, self._without({r.id for r in ended})

    def on_evse_status(
        self, evse_id: int, evses: Mapping[int, EvseView]
    ) -> tuple[tuple[Reservation, ...], ReservationBook]:
        """After EVSE `evse_id` changed (`evses` is the new state): what must be Removed (H01.FR.16/17).

        Only Faulted or Unavailable (or the EVSE vanishing) removes anything: an EVSE becoming Occupied
        may be the holder plugging in before presenting the token (H03 S1/S2 scenario #2).
        """
        view = evses.get(evse_id)
        if view is not None and view.status not in (_CS.Faulted, _CS.Unavailable):
            return (), self
        removed = [r for r in self.reservations if r.evse_id == evse_id]
        rest = self._without({r.id for r in removed})
        pool = _free(evses, rest._specific())
        kept: list[Reservation] = []
        for reservation in rest._floating():  # oldest promise first; a newer one that no longer fits goes
            if _fits([*kept, reservation], pool, evses):
                kept.append(reservation)
            else:
                removed.append(reservation)
        return tuple(removed), self._without({r.id for r in removed})

    # ---- H03 ---------------------------------------------------------------------------------------------
    def _claim(
        self,
        evse_id: int,
        id_token: IdToken,
        group_id_token: IdToken | None,
        evses: Mapping[int, EvseView],
        now: datetime,
    ) -> tuple[bool, Reservation | None]:
        live = self._live(now)  # an expired reservation neither blocks nor serves anyone
        view = evses.get(evse_id)
        if view is None:
            return False, None
        specific = live._specific()
        held = specific.get(evse_id)
        if held is not None:
            return (True, held) if held.held_by(id_token, group_id_token) else (False, None)
        floating = live._floating()
        pool = _free(evses, specific, exclude={evse_id})
        mine = [r for r in floating if r.held_by(id_token, group_id_token) and view.offers(r.connector_type)]
        mine.sort(key=lambda r: not r.id_token.matches(id_token))  # the driver's own before the group's
        for reservation in mine:
            if _fits([r for r in floating if r is not reservation], pool, evses):
                return True, reservation
        return _fits(floating, pool, evses), None

    def allowed(
        self,
        evse_id: int,
        id_token: IdToken,
        group_id_token: IdToken | None,
        evses: Mapping[int, EvseView],
        now: datetime,
    ) -> bool:
        """May this (authorized) token charge at `evse_id` without breaking anyone's reservation?"""
        return self._claim(evse_id, id_token, group_id_token, evses, now)[0]

    def use(
        self,
        evse_id: int,
        id_token: IdToken,
        group_id_token: IdToken | None,
        evses: Mapping[int, EvseView],
        now: datetime,
    ) -> tuple[int | None, ReservationBook]:
        """Consume the reservation this token holds for `evse_id` (H03.FR.09): its id for the
        TransactionEventRequest.reservationId, or None (book unchanged) if there is none to use."""
        _, reservation = self._claim(evse_id, id_token, group_id_token, evses, now)
        if reservation is None:
            return None, self
        return reservation.id, self._without({reservation.id})

    # ---- G01 ---------------------------------------------------------------------------------------------
    def reserved_evses(self, evses: Mapping[int, EvseView]) -> frozenset[int]:
        """EVSEs whose connectors must show Reserved: specifically reserved ones, and the Available ones a
        walk-in driver may not take because the non-specific reservations need them."""
        specific = self._specific()
        shown = {evse_id for evse_id in specific if evse_id in evses}
        floating = self._floating()
        if floating:
            pool = _free(evses, specific)
            shown.update(e for e in pool if not _fits(floating, [p for p in pool if p != e], evses))
        return frozenset(shown)


# ---- the shell ---------------------------------------------------------------------------------------------
