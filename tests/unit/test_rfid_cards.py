"""When a card counts as presented again, and what of its UID may be logged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.rfid.cards import PolledPresence, TimedDedupe, shorten_uid

CARD = bytes.fromhex("04A2B3C4")
OTHER = bytes.fromhex("04A2B3C4D5E6F7")


def test_a_held_card_is_one_presentation() -> None:
    presence = PolledPresence(absent_polls=2)
    assert [presence.observe(CARD) for _ in range(5)] == [CARD, None, None, None, None]


def test_the_same_card_again_only_after_enough_empty_polls() -> None:
    presence = PolledPresence(absent_polls=3)
    assert presence.observe(CARD) == CARD
    # Gone for two polls only (held at the edge of the field): still the same presentation.
    assert [presence.observe(None), presence.observe(None), presence.observe(CARD)] == [None, None, None]
    assert [presence.observe(None) for _ in range(3)] == [None, None, None]
    assert presence.observe(CARD) == CARD


def test_a_different_card_is_a_new_presentation_at_once() -> None:
    presence = PolledPresence(absent_polls=5)
    assert presence.observe(CARD) == CARD
    assert presence.observe(OTHER) == OTHER
    assert presence.observe(CARD) == CARD


def test_absent_polls_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PolledPresence(absent_polls=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_timed_dedupe_window_restarts_at_every_sighting() -> None:
    clock = FakeClock()
    dedupe = TimedDedupe(1.0, clock)
    assert dedupe.is_new("04A2B3C4")
    clock.now += 0.9
    assert not dedupe.is_new("04A2B3C4")  # a reader repeating the line while the card is held
    clock.now += 0.9
    assert not dedupe.is_new("04A2B3C4")  # 1.8 s after the report, but 0.9 s after the last line
    assert dedupe.is_new("11223344")  # another card is reported at once
    clock.now += 1.0
    assert dedupe.is_new("04A2B3C4")


def test_timed_dedupe_of_zero_reports_every_line() -> None:
    dedupe = TimedDedupe(0.0, FakeClock())
    assert dedupe.is_new("04A2B3C4") and dedupe.is_new("04A2B3C4")


@given(st.sampled_from([4, 7]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_shortened_uid_shows_only_first_and_last_byte(uid: bytes) -> None:
    token = uid.hex().upper()
    short = shorten_uid(token)
    assert short == f"{token[:2]}..{token[-2:]}"
    assert token[2:-2] not in short
