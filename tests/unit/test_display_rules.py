"""The pure rules of display messages (O01-O06) and the composer of the driver's screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evse.station.core.display_rules import (
    Capabilities,
    DisplayMessage,
    MessageState,
    Priority,
    check,
    due,
    expired,
    superseded,
)
from evse.station.core.screen import Phase, Situation, compose, fit

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
CAPS = Capabilities(
    max_messages=2,
    formats=frozenset({"ASCII", "UTF8"}),
    priorities=frozenset({"AlwaysFront", "InFront", "NormalCycle"}),
    states=frozenset({"Charging", "Idle"}),
)


def msg(mid: int, priority: Priority = Priority.InFront, content: str = "", **extra: object) -> DisplayMessage:
    return DisplayMessage(id=mid, priority=priority, content=content or f"m{mid}", **extra)  # type: ignore[arg-type]


def test_check_statuses_in_order_of_the_request_fields() -> None:
    """O01.FR.02-04 and O02.FR.03: format, priority, state, transaction; a full store refuses a new id
    but takes a replacement (O06.FR.01)."""
    assert check(msg(1, format="HTML"), [], CAPS, set()) == "NotSupportedMessageFormat"
    assert check(msg(1, state=MessageState.Faulted), [], CAPS, set()) == "NotSupportedState"
    assert check(msg(1, transaction_id="t1"), [], CAPS, set()) == "UnknownTransaction"
    assert check(msg(1, transaction_id="t1"), [], CAPS, {"t1"}) == "Accepted"
    narrow = Capabilities(2, CAPS.formats, frozenset({"InFront"}), CAPS.states)
    assert check(msg(1, Priority.AlwaysFront), [], narrow, set()) == "NotSupportedPriority"
    full = [msg(1), msg(2)]
    assert check(msg(3), full, CAPS, set()) == "Rejected"
    assert check(msg(2), full, CAPS, set()) == "Accepted"


def test_due_filters_by_window_display_state_and_transaction_and_orders_by_priority() -> None:
    stored = [
        msg(1, Priority.NormalCycle, set_at=1),
        msg(2, Priority.AlwaysFront, set_at=2),
        msg(3, Priority.AlwaysFront, set_at=3),
        msg(4, Priority.InFront, start=NOW + timedelta(seconds=1)),
        msg(5, Priority.InFront, end=NOW),
        msg(6, Priority.InFront, evse_id=2),
        msg(7, Priority.InFront, state=MessageState.Charging),
        msg(8, Priority.InFront, transaction_id="t1", set_at=8),
    ]
    shown = due(stored, now=NOW, evse_id=1, state=MessageState.Idle, transaction_id=None)
    assert [m.id for m in shown] == [3, 2, 1]  # the newer AlwaysFront first
    charging = due(stored, now=NOW, evse_id=1, state=MessageState.Charging, transaction_id="t1")
    assert [m.id for m in charging] == [3, 2, 7, 8, 1]


def test_expired_by_end_time_or_ended_transaction() -> None:
    stored = [msg(1, end=NOW), msg(2, end=NOW + timedelta(seconds=1)), msg(3, transaction_id="t1"), msg(4)]
    assert expired(stored, NOW, {"t1"}) == [1]
    assert expired(stored, NOW, set()) == [1, 3]


def test_compose_always_front_hides_everything_in_front_cycles_normal_takes_turns() -> None:
    idle = Situation(Phase.Idle)
    always = [msg(1, Priority.AlwaysFront, "Closed today"), msg(2, Priority.InFront, "Hi")]
    assert compose(idle, always, 0, 20, 2).lines == ("Closed today", "")
    fronts = [msg(2, Priority.InFront, "One"), msg(3, Priority.InFront, "Two")]
    assert [compose(idle, fronts, page, 20, 1).lines[0] for page in range(3)] == ["One", "Two", "One"]
    normal = [msg(4, Priority.NormalCycle, "Ad")]
    assert [compose(idle, normal, page, 20, 1).lines[0] for page in range(2)] == ["Welcome", "Ad"]


def test_own_pages_of_each_phase() -> None:
    charging = Situation(Phase.Charging, energy_wh=1234, seconds=3725, cost=1.5, currency="EUR", personal="0.30/kWh")
    assert compose(charging, [], 0, 20, 4).lines == ("Charging", "1.23 kWh 1:02", "Cost 1.50 EUR", "0.30/kWh")
    done = Situation(Phase.Finished, energy_wh=5000, seconds=60, cost_note="Invoice follows")
    assert compose(done, [], 0, 20, 3).lines == ("Charging done", "5.00 kWh 0:01", "Invoice follows")
    final = Situation(Phase.Finished, energy_wh=5000, seconds=60, cost=2, currency="EUR")
    assert compose(final, [], 0, 20, 3).lines[2] == "Total 2.00 EUR"
    assert compose(Situation(Phase.Faulted, fault="lock_failure"), [], 0, 16, 2).lines == (
        "Out of order",
        "lock_failure",
    )
    assert compose(Situation(Phase.Unavailable), [], 0, 16, 1).lines == ("Unavailable",)


def test_fit_wraps_words_breaks_long_ones_cuts_and_pads() -> None:
    assert fit(["Hello brave new world"], 10, 3) == ["Hello", "brave new", "world"]
    assert fit(["abcdefghijkl"], 5, 2) == ["abcde", "fghij"]
    assert fit(["a\nb"], 5, 3) == ["a", "b", ""]


def test_a_newer_always_front_replaces_the_older_for_the_same_display_and_state() -> None:
    stored = [
        msg(1, Priority.AlwaysFront),
        msg(2, Priority.AlwaysFront, evse_id=2),
        msg(3, Priority.AlwaysFront, state=MessageState.Faulted),
        msg(4, Priority.InFront),
    ]
    assert superseded(msg(5, Priority.AlwaysFront), stored) == [1]
    assert superseded(msg(1, Priority.AlwaysFront), stored) == []  # its own id: O06 replaces it anyway
    assert superseded(msg(6, Priority.InFront), stored) == []


def test_authorizing_page_and_idle_personal_message() -> None:
    assert compose(Situation(Phase.Authorizing), [], 0, 20, 2).lines == ("Authorizing...", "")
    told = Situation(Phase.Idle, personal="Card blocked", personal_language="en")
    screen = compose(told, [], 0, 20, 3)
    assert screen.lines == ("Welcome", "Present your card", "Card blocked") and screen.language == "en"
