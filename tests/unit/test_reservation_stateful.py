"""Random reserve / cancel / expire / use / EVSE status sequences against the pure ReservationBook.

Invariants checked after every step:
- the live non-specific reservations can each be given an Available EVSE of their own (checked by brute
  force, independently of the book's matching), so a driver holding one always finds an EVSE;
- an EVSE reserved for someone else refuses every other token;
- an expired reservation is never used;
- every reservation ends exactly once: used, cancelled, expired, removed or replaced (H01.FR.02).
Drivers occupy an EVSE only when `allowed` says so; a cable plugged in without authorization is not
modelled (it is the holder's cable-first start, which the book deliberately tolerates).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from evse.station.core.reservation_book import CancelStatus as Cancel
from evse.station.core.reservation_book import EvseView, IdToken, Reservation, ReservationBook, ReservationSettings
from evse.station.core.reservation_book import ReserveStatus as Status

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TYPES = {1: ("cType2",), 2: ("cType2", "cCCS2"), 3: ("cCCS2",)}
TOKENS = [IdToken(f"TOKEN{n}", "ISO14443") for n in range(4)]
GROUPS = [None, IdToken("FLEET-A", "Central"), IdToken("FLEET-B", "Central")]
SETTINGS = ReservationSettings(enabled=True, non_evse_specific=True)


def fits(floating: list[Reservation], evses: dict[int, EvseView], taken: set[int]) -> bool:
    """Brute force: is there an injective assignment of each non-specific reservation to a free EVSE?"""
    free = [e for e, view in evses.items() if view.status == "Available" and e not in taken]
    for chosen in itertools.permutations(free, len(floating)):
        if all(
            r.connector_type is None or r.connector_type in evses[e].connector_types
            for r, e in zip(floating, chosen, strict=True)
        ):
            return True
    return False


class ReservationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = ReservationBook()
        self.evses = {n: EvseView("Available", types) for n, types in TYPES.items()}
        self.now = START
        self.open: dict[int, Reservation] = {}  # what the model believes is held
        self.endings: list[tuple[Reservation, str]] = []

    def _end(self, reservation: Reservation, how: str) -> None:
        assert self.open.get(reservation.id) == reservation, f"{how} of a reservation that is not held"
        assert all(ended is not reservation for ended, _ in self.endings), "ended twice"
        del self.open[reservation.id]
        self.endings.append((reservation, how))

    def _set(self, evse_id: int, status: str) -> None:
        self.evses[evse_id] = EvseView(status, TYPES[evse_id])

    @rule(
        rid=st.integers(1, 6),
        evse_id=st.sampled_from([None, None, 1, 2, 3, 4]),
        connector_type=st.sampled_from([None, None, "cType2", "cCCS2"]),
        token=st.sampled_from(TOKENS),
        group=st.sampled_from(GROUPS),
        minutes=st.integers(-1, 20),
    )
    def reserve(
        self,
        rid: int,
        evse_id: int | None,
        connector_type: str | None,
        token: IdToken,
        group: IdToken | None,
        minutes: int,
    ) -> None:
        wanted = Reservation(rid, self.now + timedelta(minutes=minutes), token, group, evse_id, connector_type)
        outcome, book = self.book.reserve(wanted, self.evses, self.now, SETTINGS)
        if outcome.status is Status.Accepted:
            if rid in self.open:
                self._end(self.open[rid], "replaced")
            self.open[rid] = wanted
            assert book.get(rid) == wanted
        else:
            assert book is self.book
        self.book = book

    @rule(rid=st.integers(1, 6))
    def cancel(self, rid: int) -> None:
        status, self.book = self.book.cancel(rid)
        assert (status is Cancel.Accepted) == (rid in self.open)
        if status is Cancel.Accepted:
            self._end(self.open[rid], "cancelled")

    @rule(minutes=st.integers(0, 10))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule()
    def expire(self) -> None:
        ended, self.book = self.book.expire(self.now)
        for reservation in ended:
            assert reservation.expiry <= self.now
            self._end(reservation, "expired")

    @rule(evse_id=st.sampled_from(sorted(TYPES)), token=st.sampled_from(TOKENS), group=st.sampled_from(GROUPS))
    def driver_starts(self, evse_id: int, token: IdToken, group: IdToken | None) -> None:
        if self.evses[evse_id].status != "Available":
            return
        allowed = self.book.allowed(evse_id, token, group, self.evses, self.now)
        used, book = self.book.use(evse_id, token, group, self.evses, self.now)
        if not allowed:
            assert (used, book) == (None, self.book)
            return
        if used is not None:
            reservation = self.open[used]
            assert reservation.expiry > self.now, "an expired reservation was used"
            assert reservation.held_by(token, group)
            assert reservation.evse_id in (None, evse_id)
            self._end(reservation, "used")
        self.book = book
        self._set(evse_id, "Occupied")

    @rule(evse_id=st.sampled_from(sorted(TYPES)), status=st.sampled_from(["Faulted", "Unavailable"]))
    def evse_out_of_service(self, evse_id: int, status: str) -> None:
        self._set(evse_id, status)
        removed, self.book = self.book.on_evse_status(evse_id, self.evses)
        assert all(r.evse_id != evse_id for r in self.book)
        for reservation in removed:
            self._end(reservation, "removed")

    @rule(evse_id=st.sampled_from(sorted(TYPES)))
    def evse_free_again(self, evse_id: int) -> None:
        self._set(evse_id, "Available")
        assert self.book.on_evse_status(evse_id, self.evses) == ((), self.book)

    @invariant()
    def book_matches_the_model(self) -> None:
        assert {r.id: r for r in self.book} == self.open

    @invariant()
    def unspecified_reservations_always_have_an_evse(self) -> None:
        live = [r for r in self.book if r.expiry > self.now]
        taken = {r.evse_id for r in live if r.evse_id is not None}
        assert fits([r for r in live if r.evse_id is None], self.evses, taken)

    @invariant()
    def reserved_evses_refuse_strangers(self) -> None:
        shown = self.book.reserved_evses(self.evses)
        stranger = IdToken("STRANGER", "ISO14443")
        for reservation in self.book:
            if reservation.evse_id is not None and reservation.evse_id in self.evses:
                assert reservation.evse_id in shown
                if reservation.expiry > self.now:
                    assert not self.book.allowed(reservation.evse_id, stranger, None, self.evses, self.now)
        if any(r.expiry <= self.now for r in self.book):
            return  # until `expire` runs, the shown set may still count an expired reservation
        for evse_id in shown:
            if self.evses[evse_id].status == "Available" and not any(r.evse_id == evse_id for r in self.book):
                # Reserved for the unspecified ones: a stranger taking it would leave one of them without EVSE.
                assert not self.book.allowed(evse_id, stranger, None, self.evses, self.now)
        for evse_id, view in self.evses.items():
            if view.status == "Available" and evse_id not in shown:
                assert self.book.allowed(evse_id, stranger, None, self.evses, self.now), "shown Available, refused"


ReservationMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
test_reservation_rules_hold_under_random_operations = ReservationMachine.TestCase
