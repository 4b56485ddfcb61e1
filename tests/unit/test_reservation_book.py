"""The pure reservation rules (evse.station.core.reservation_book.ReservationBook): H01-H04 without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evse.station.core.reservation_book import CancelStatus as Cancel
from evse.station.core.reservation_book import EvseView, IdToken, Reservation, ReservationBook, ReservationSettings
from evse.station.core.reservation_book import ReserveStatus as Status

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)
ALICE = IdToken("AA11BB22", "ISO14443")
BOB = IdToken("CC33DD44", "ISO14443")
CAROL = IdToken("EE55FF66", "ISO14443")
FLEET = IdToken("FLEET-1", "Central")
ANY_EVSE = ReservationSettings(enabled=True, non_evse_specific=True)
SPECIFIC_ONLY = ReservationSettings(enabled=True, non_evse_specific=False)


def station(*statuses: str, types: tuple[str, ...] = ("cType2",)) -> dict[int, EvseView]:
    """EVSEs 1..n with the given statuses, all offering `types`."""
    return {n: EvseView(status, types) for n, status in enumerate(statuses, start=1)}


def reservation(
    rid: int,
    evse_id: int | None = None,
    token: IdToken = ALICE,
    *,
    group: IdToken | None = None,
    connector_type: str | None = None,
    expiry: datetime = LATER,
) -> Reservation:
    return Reservation(rid, expiry, token, group, evse_id, connector_type)


def reserve_all(evses: dict[int, EvseView], *reservations: Reservation) -> ReservationBook:
    book = ReservationBook()
    for item in reservations:
        outcome, book = book.reserve(item, evses, NOW, ANY_EVSE)
        assert outcome.status is Status.Accepted, (item, outcome)
    return book


# ---- H01: a specific EVSE ------------------------------------------------------------------------------
def test_TC_H_01_CS_specific_evse_is_reserved_until_its_token_uses_it() -> None:
    evses = station("Available", "Available")
    outcome, book = ReservationBook().reserve(reservation(7, 1), evses, NOW, SPECIFIC_ONLY)
    assert outcome.status is Status.Accepted
    assert outcome.reason is None
    assert book.reserved_evses(evses) == {1}
    used, book = book.use(1, ALICE, None, evses, NOW)
    assert used == 7
    assert len(book) == 0
    assert book.reserved_evses(evses) == frozenset()


def test_TC_H_02_CS_reserved_evse_refuses_any_other_idtoken() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(7, 1))
    assert not book.allowed(1, BOB, None, evses, NOW)
    assert book.use(1, BOB, None, evses, NOW) == (None, book)
    assert book.allowed(2, BOB, None, evses, NOW)  # the other EVSE is free for anyone
    assert book.use(2, BOB, None, evses, NOW) == (None, book)


def test_TC_H_03_CS_reserved_evse_answers_occupied() -> None:
    evses = station("Available")
    book = reserve_all(evses, reservation(1, 1))
    outcome, after = book.reserve(reservation(2, 1, BOB), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Occupied
    assert after is book


@pytest.mark.parametrize(
    ("evse_status", "expected"),
    [
        ("Available", Status.Accepted),
        ("Reserved", Status.Accepted),  # the core's overlay is read as Available; the book knows its own
        ("Occupied", Status.Occupied),  # TC_H_04_CS
        ("Faulted", Status.Faulted),
        ("Unavailable", Status.Unavailable),  # TC_H_06_CS
    ],
)
def test_H01_specific_evse_answer_follows_the_evse_status(evse_status: str, expected: Status) -> None:
    outcome, book = ReservationBook().reserve(reservation(1, 1), station(evse_status), NOW, SPECIFIC_ONLY)
    assert outcome.status is expected
    assert len(book) == (1 if expected is Status.Accepted else 0)


def test_TC_H_04_CS_occupied_evse_answers_occupied() -> None:
    outcome, _ = ReservationBook().reserve(reservation(1, 1), station("Occupied"), NOW, SPECIFIC_ONLY)
    assert outcome.status is Status.Occupied


def test_TC_H_06_CS_unavailable_evse_answers_unavailable() -> None:
    outcome, _ = ReservationBook().reserve(reservation(1, 1), station("Unavailable"), NOW, SPECIFIC_ONLY)
    assert outcome.status is Status.Unavailable


def test_TC_H_22_CS_configured_to_reject() -> None:
    disabled = ReservationSettings(enabled=False, non_evse_specific=True)
    for evse_id in (1, None):
        outcome, book = ReservationBook().reserve(reservation(1, evse_id), station("Available"), NOW, disabled)
        assert (outcome.status, outcome.reason) == (Status.Rejected, "NotEnabled")
        assert len(book) == 0


def test_H01_unknown_evse_or_connector_type_or_past_expiry_is_rejected() -> None:
    evses = station("Available", types=("cType2",))
    cases = [
        (reservation(1, 3), "UnknownEvse"),
        (reservation(1, 1, connector_type="cCCS2"), "UnknownConnectorType"),
        (reservation(1, None, connector_type="cCCS2"), "UnknownConnectorType"),
        (reservation(1, 1, expiry=NOW), "InvalidValue"),
    ]
    for item, reason in cases:
        outcome, book = ReservationBook().reserve(item, evses, NOW, ANY_EVSE)
        assert (outcome.status, outcome.reason) == (Status.Rejected, reason), item
        assert len(book) == 0
    assert ReservationBook().reserve(reservation(1), {}, NOW, ANY_EVSE)[0].reason == "UnknownEvse"


def test_H01_specific_evse_with_its_connector_type_is_accepted() -> None:
    evses = {1: EvseView("Available", ("cType2", "cCCS2"))}
    outcome, _ = ReservationBook().reserve(reservation(1, 1, connector_type="cCCS2"), evses, NOW, SPECIFIC_ONLY)
    assert outcome.status is Status.Accepted


# ---- H01.FR.02: the same id replaces ---------------------------------------------------------------------
def test_TC_H_23_CS_same_id_replaces_the_reservation() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(5, 1, ALICE))
    outcome, book = book.reserve(reservation(5, 1, BOB), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Accepted
    assert [r.id_token for r in book] == [BOB]
    assert book.reserved_evses(evses) == {1}
    assert not book.allowed(1, ALICE, None, evses, NOW)
    assert book.allowed(1, BOB, None, evses, NOW)


def test_H01_FR_02_replacement_may_move_to_another_evse() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(5, 1))
    outcome, book = book.reserve(reservation(5, 2), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Accepted
    assert book.reserved_evses(evses) == {2}


def test_H01_FR_02_refused_replacement_keeps_the_old_reservation() -> None:
    evses = station("Available", "Faulted")
    book = reserve_all(evses, reservation(5, 1))
    outcome, after = book.reserve(reservation(5, 2), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Faulted
    assert after is book
    assert after.get(5) == reservation(5, 1)


# ---- H01: any EVSE ----------------------------------------------------------------------------------------
def test_TC_H_08_CS_unspecified_evse_is_accepted_and_leaves_others_free() -> None:
    evses = station("Available", "Available")
    outcome, book = ReservationBook().reserve(reservation(1), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Accepted
    assert book.reserved_evses(evses) == frozenset()  # 2 Available > 1 reservation: nothing to block yet
    assert book.allowed(1, BOB, None, evses, NOW)


def test_TC_H_09_CS_unspecified_when_every_evse_is_reserved_answers_occupied() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1, 1), reservation(2, 2, BOB))
    outcome, _ = book.reserve(reservation(3, None, CAROL), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Occupied


def test_TC_H_10_CS_unspecified_when_every_evse_is_occupied_answers_occupied() -> None:
    outcome, _ = ReservationBook().reserve(reservation(1), station("Occupied", "Occupied"), NOW, ANY_EVSE)
    assert outcome.status is Status.Occupied


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("Unavailable", "Unavailable"), Status.Unavailable),  # TC_H_12_CS
        (("Faulted", "Faulted"), Status.Faulted),
        (("Faulted", "Unavailable"), Status.Faulted),
        (("Occupied", "Faulted"), Status.Occupied),
        (("Occupied", "Unavailable"), Status.Occupied),
    ],
)
def test_H01_unspecified_refusal_names_the_busiest_evse_status(statuses: tuple[str, ...], expected: Status) -> None:
    outcome, _ = ReservationBook().reserve(reservation(1), station(*statuses), NOW, ANY_EVSE)
    assert outcome.status is expected


def test_TC_H_12_CS_unspecified_when_every_evse_is_unavailable() -> None:
    outcome, _ = ReservationBook().reserve(reservation(1), station("Unavailable"), NOW, ANY_EVSE)
    assert outcome.status is Status.Unavailable


def test_TC_H_13_CS_unspecified_is_rejected_without_NonEvseSpecific() -> None:
    for item in (reservation(1), reservation(1, connector_type="cType2")):
        outcome, book = ReservationBook().reserve(item, station("Available"), NOW, SPECIFIC_ONLY)
        assert (outcome.status, outcome.reason) == (Status.Rejected, "UnsupportedRequest")
        assert len(book) == 0


def test_TC_H_14_CS_as_many_reservations_as_available_evses_reserves_them_all() -> None:
    evses = station("Available", "Available", "Occupied")
    book = reserve_all(evses, reservation(1, None, ALICE))
    assert book.reserved_evses(evses) == frozenset()
    book = reserve_all(evses, *book, reservation(2, None, BOB))
    assert book.reserved_evses(evses) == {1, 2}
    assert not book.allowed(1, CAROL, None, evses, NOW)  # a walk-in would leave a reservation without EVSE
    assert book.allowed(2, BOB, None, evses, NOW)
    outcome, _ = book.reserve(reservation(3, None, CAROL), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Occupied


def test_H01_specific_reservation_may_not_take_an_evse_the_unspecified_ones_need() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1), reservation(2, 1, BOB))
    assert book.reserved_evses(evses) == {1, 2}  # EVSE 2 is the last one the unspecified reservation can get
    outcome, _ = book.reserve(reservation(3, 2, CAROL), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Occupied


def test_TC_H_15_CS_connector_type_reservation_reserves_an_evse_of_that_type() -> None:
    evses = {1: EvseView("Available", ("cCCS2",)), 2: EvseView("Available", ("cType2",))}
    outcome, book = ReservationBook().reserve(reservation(1, connector_type="cType2"), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Accepted
    assert book.reserved_evses(evses) == {2}  # the only cType2 EVSE
    assert book.allowed(1, BOB, None, evses, NOW)
    assert not book.allowed(2, BOB, None, evses, NOW)


def test_TC_H_16_CS_connector_type_reservations_equal_to_available_connectors() -> None:
    evses = {1: EvseView("Available", ("cCCS2",)), 2: EvseView("Available", ("cType2",))}
    book = reserve_all(evses, reservation(1, connector_type="cType2"))
    outcome, _ = book.reserve(reservation(2, None, BOB, connector_type="cType2"), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Occupied
    outcome, book = book.reserve(reservation(3, None, CAROL, connector_type="cCCS2"), evses, NOW, ANY_EVSE)
    assert outcome.status is Status.Accepted
    assert book.reserved_evses(evses) == {1, 2}


def test_H01_connector_types_are_matched_not_just_counted() -> None:
    # EVSE 1 offers both types, EVSE 2 only cType2: a cCCS2 and a cType2 reservation fit only as 1<-CCS, 2<-Type2.
    evses = {1: EvseView("Available", ("cType2", "cCCS2")), 2: EvseView("Available", ("cType2",))}
    book = reserve_all(evses, reservation(1, None, ALICE, connector_type="cType2"))
    book = reserve_all(evses, *book, reservation(2, None, BOB, connector_type="cCCS2"))
    assert book.reserved_evses(evses) == {1, 2}
    assert book.use(2, ALICE, None, evses, NOW)[0] == 1
    assert not book.allowed(1, ALICE, None, evses, NOW)  # taking EVSE 1 would leave Bob's cCCS2 without one
    assert book.use(1, BOB, None, evses, NOW)[0] == 2


# ---- H02 ------------------------------------------------------------------------------------------------
def test_TC_H_17_CS_cancel_frees_the_evse() -> None:
    evses = station("Available")
    book = reserve_all(evses, reservation(4, 1))
    status, book = book.cancel(4)
    assert status is Cancel.Accepted
    assert book.reserved_evses(evses) == frozenset()
    assert book.allowed(1, BOB, None, evses, NOW)


def test_TC_H_18_CS_cancel_of_an_unknown_reservation_is_rejected() -> None:
    book = reserve_all(station("Available"), reservation(4, 1))
    status, after = book.cancel(5)
    assert status is Cancel.Rejected
    assert after is book


# ---- H03 ------------------------------------------------------------------------------------------------
def test_TC_H_19_CS_token_of_the_same_group_uses_a_specific_reservation() -> None:
    evses = station("Available")
    book = reserve_all(evses, reservation(1, 1, ALICE, group=FLEET))
    assert not book.allowed(1, BOB, None, evses, NOW)
    assert not book.allowed(1, BOB, IdToken("OTHER", "Central"), evses, NOW)
    assert book.use(1, BOB, FLEET, evses, NOW)[0] == 1


def test_TC_H_24_CS_token_of_the_same_group_uses_an_unspecified_reservation() -> None:
    evses = station("Available")
    book = reserve_all(evses, reservation(1, None, ALICE, group=FLEET))
    assert book.reserved_evses(evses) == {1}
    assert not book.allowed(1, CAROL, None, evses, NOW)
    used, book = book.use(1, CAROL, FLEET, evses, NOW)
    assert used == 1
    assert len(book) == 0


def test_H03_reservation_without_group_is_not_used_through_a_group() -> None:
    book = reserve_all(station("Available"), reservation(1, 1, ALICE))
    assert not book.allowed(1, BOB, FLEET, station("Available"), NOW)


def test_H03_own_token_is_preferred_over_the_group_s() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1, None, BOB, group=FLEET), reservation(2, None, ALICE, group=FLEET))
    assert book.use(1, ALICE, FLEET, evses, NOW)[0] == 2


def test_H03_idtokens_compare_case_insensitively_and_by_type() -> None:
    evses = station("Available")
    book = reserve_all(evses, reservation(1, 1, IdToken("aa11bb22", "ISO14443")))
    assert book.allowed(1, ALICE, None, evses, NOW)
    assert not book.allowed(1, IdToken(ALICE.value, "ISO15693"), None, evses, NOW)


def test_H03_holder_may_use_a_reserved_evse_it_already_plugged_into() -> None:
    # Cable first (TxStartPoint EVConnected): the EVSE is Occupied before the token is presented.
    book = reserve_all(station("Available"), reservation(1, 1))
    assert book.use(1, ALICE, None, station("Occupied"), NOW)[0] == 1


def test_H03_unspecified_holder_is_not_bound_to_an_evse() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1), reservation(2, None, BOB))
    assert book.use(2, BOB, None, evses, NOW)[0] == 2


def test_H03_an_expired_reservation_neither_serves_nor_blocks() -> None:
    evses = station("Available")
    book = reserve_all(evses, reservation(1, 1))
    assert book.use(1, ALICE, None, evses, LATER) == (None, book)
    assert book.allowed(1, BOB, None, evses, LATER)


# ---- H04 and removal --------------------------------------------------------------------------------------
def test_TC_H_07_CS_unused_reservation_expires_at_its_expiry() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1, 1), reservation(2, None, BOB, expiry=LATER + timedelta(minutes=1)))
    assert book.next_expiry() == LATER
    assert book.expire(LATER - timedelta(seconds=1)) == ((), book)
    ended, book = book.expire(LATER)
    assert [r.id for r in ended] == [1]
    assert [r.id for r in book] == [2]
    assert book.next_expiry() == LATER + timedelta(minutes=1)
    assert ReservationBook().next_expiry() is None


@pytest.mark.parametrize("new_status", ["Faulted", "Unavailable"])
def test_TC_H_21_CS_reserved_evse_going_out_of_service_removes_its_reservation(new_status: str) -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1, 1), reservation(2, 2, BOB))
    evses[1] = EvseView(new_status, ("cType2",))
    removed, book = book.on_evse_status(1, evses)
    assert [r.id for r in removed] == [1]
    assert [r.id for r in book] == [2]


@pytest.mark.parametrize("new_status", ["Occupied", "Available", "Reserved"])
def test_H01_FR_16_other_status_changes_remove_nothing(new_status: str) -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1, 1), reservation(2, None, BOB))
    evses[1] = EvseView(new_status, ("cType2",))
    assert book.on_evse_status(1, evses) == ((), book)


def test_H01_FR_16_unspecified_reservations_that_lost_their_evse_are_removed_newest_first() -> None:
    evses = station("Available", "Available", "Available")
    book = reserve_all(evses, reservation(10, 1), reservation(11, None, BOB), reservation(12, None, CAROL))
    evses[1] = EvseView("Faulted", ("cType2",))
    removed, book = book.on_evse_status(1, evses)
    assert [r.id for r in removed] == [10]
    evses[2] = EvseView("Unavailable", ("cType2",))
    removed, book = book.on_evse_status(2, evses)
    assert [r.id for r in removed] == [12]
    assert [r.id for r in book] == [11]


def test_H01_FR_16_vanished_evse_removes_its_reservation() -> None:
    evses = station("Available", "Available")
    book = reserve_all(evses, reservation(1, 2))
    del evses[2]
    assert [r.id for r in book.on_evse_status(2, evses)[0]] == [1]


# ---- values -----------------------------------------------------------------------------------------------
def test_values_refuse_what_would_break_the_rules_silently() -> None:
    with pytest.raises(ValueError):
        EvseView("Charging")
    with pytest.raises(ValueError):
        Reservation(1, datetime(2025, 1, 1), ALICE)
