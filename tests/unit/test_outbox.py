"""The durable outbox: order, persistence, and the bound that never drops Started/Ended."""

from __future__ import annotations

from pathlib import Path

from evse.ocpp.outbox import Outbox
from evse.storage import open_database


def tx_event(kind: str, seq: int) -> dict[str, object]:
    return {"eventType": kind, "seqNo": seq}


def test_entries_survive_reopening_in_order(tmp_path: Path) -> None:
    box = Outbox(open_database(tmp_path))
    box.put("StatusNotification", {"n": 1})
    box.put("TransactionEvent", tx_event("Started", 0), transaction_id="t1")
    again = Outbox(open_database(tmp_path))
    first = again.peek()
    assert first is not None and first.action == "StatusNotification"
    again.remove(first.id)
    second = again.peek()
    assert second is not None and second.payload == tx_event("Started", 0) and second.transaction_id == "t1"


def test_bound_drops_other_messages_first_then_updated_never_started_or_ended(tmp_path: Path) -> None:
    box = Outbox(open_database(tmp_path), max_messages=4)
    box.put("TransactionEvent", tx_event("Started", 0), transaction_id="t1")
    box.put("StatusNotification", {"n": 1})
    box.put("TransactionEvent", tx_event("Updated", 1), transaction_id="t1")
    box.put("TransactionEvent", tx_event("Updated", 2), transaction_id="t1")
    box.put("TransactionEvent", tx_event("Ended", 3), transaction_id="t1")  # 5 > 4: the status goes
    assert len(box) == 4 and box.dropped == 1
    box.put("TransactionEvent", tx_event("Started", 0), transaction_id="t2")  # then the oldest Updated
    kept = []
    while (entry := box.peek()) is not None:
        kept.append((entry.transaction_id, entry.payload["eventType"], entry.payload["seqNo"]))
        box.remove(entry.id)
    assert kept == [("t1", "Started", 0), ("t1", "Updated", 2), ("t1", "Ended", 3), ("t2", "Started", 0)]


def test_bound_keeps_started_and_ended_even_when_exceeded(tmp_path: Path) -> None:
    box = Outbox(open_database(tmp_path), max_messages=100)
    for i in range(60):
        box.put("TransactionEvent", tx_event("Started", 0), transaction_id=f"s{i}")
        box.put("TransactionEvent", tx_event("Ended", 1), transaction_id=f"s{i}")
    assert len(box) == 120 and box.dropped == 0


def test_remove_leaves_new_messages_synchronous_full(tmp_path: Path) -> None:
    """Deletes skip their fsync (a lost one only causes a resend), but writes stay durable before sent."""
    conn = open_database(tmp_path)
    box = Outbox(conn)
    first = box.put("TransactionEvent", tx_event("Started", 0), transaction_id="t1")
    box.remove(first)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    second = box.put("TransactionEvent", tx_event("Ended", 1), transaction_id="t1")
    conn.execute("BEGIN IMMEDIATE")  # inside a caller's transaction the delete joins it
    box.remove(second)
    conn.execute("COMMIT")
    assert len(box) == 0 and Outbox(open_database(tmp_path)).peek() is None
