"""GetLog's time window over the diagnostics lines and the security log records (N01)."""

from __future__ import annotations

from datetime import UTC, datetime

from evse.logs.selection import line_time, select_lines, select_records

LINES = [
    "stray tail of a record cut by rotation\n",
    "2021-03-01T10:00:00.000Z INFO a: one\n",
    "2021-03-01T11:00:00.000Z ERROR b: two\n",
    "Traceback (most recent call last):\n",
    "  ValueError: x\n",
    "2021-03-01T12:00:00.000Z INFO c: three\n",
]


def at(hour: int) -> datetime:
    return datetime(2021, 3, 1, hour, tzinfo=UTC)


def test_without_a_window_every_line_is_kept() -> None:
    assert list(select_lines(LINES, None, None)) == LINES


def test_the_window_is_inclusive_and_continuations_follow_their_record() -> None:
    assert list(select_lines(LINES, at(11), at(12))) == LINES[2:]
    assert list(select_lines(LINES, at(10), at(11))) == LINES[1:5]


def test_a_lower_bound_alone_and_an_upper_bound_alone() -> None:
    assert list(select_lines(LINES, at(12), None)) == LINES[5:]
    assert list(select_lines(LINES, None, at(10))) == LINES[1:2]


def test_lines_without_a_time_are_left_out_of_a_window() -> None:
    assert LINES[0] not in list(select_lines(LINES, at(0), at(23)))


def test_line_time_reads_offsets_and_rejects_non_stamps() -> None:
    assert line_time("2021-03-01T12:00:00+02:00 x") == at(10)
    assert line_time("  2021-03-01T12:00:00Z indented") is None
    assert line_time("2021-13-01T12:00:00Z impossible month") is None


def test_security_records_by_their_timestamp() -> None:
    records = [
        {"timestamp": "2021-03-01T09:59:59.999Z", "type": "A"},
        {"timestamp": "2021-03-01T10:00:00.000Z", "type": "B"},
        {"timestamp": "garbage", "type": "C"},
        {"type": "D"},
    ]
    assert [r["type"] for r in select_records(records, at(10), None)] == ["B"]
    assert [r["type"] for r in select_records(records, None, None)] == ["A", "B", "C", "D"]
