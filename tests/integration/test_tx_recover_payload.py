"""A transaction a power loss left open is ended from its journal with the bytes earlier builds sent.

The journal (a real SQLite file) holds a TxEnded sampler written by the build that kept 2.0.1 models in the
station core (tests/data/meter_samples_before_neutral.json); recovery ends the transaction with stoppedReason
PowerLoss (E: the station's PowerLoss end), carrying those samples and the last energy, and the outbox payload
must be exactly the one that build wrote: neutral samples in the core change nothing a CSMS sees.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.ocpp.calls import OcppMessage, Resp
from evse.ocpp.outbox import Outbox
from evse.ocpp.v201.schemas import validate_request
from evse.ocpp.v201.wire import Wire201
from evse.station.shell.tx_journal import TxJournal
from evse.station.shell.tx_messages import TransactionMessages
from evse.storage import open_database
from tests.integration.conftest import station_settings

ROOT = Path(__file__).resolve().parents[2]
BEFORE: dict[str, str] = json.loads((ROOT / "tests" / "data" / "meter_samples_before_neutral.json").read_text())
RECOVERED_AT = datetime(2024, 3, 1, 13, 0, 0, 250000, tzinfo=UTC)


class StoppedClock:
    """The station clock at the moment of recovery (the payload's timestamps must be those of the reference)."""

    def monotonic(self) -> float:
        return 5.0

    def now(self) -> datetime:
        return RECOVERED_AT

    def set_now(self, utc: datetime) -> None:
        raise AssertionError("recovery does not set the clock")


class NoLink:
    """Recovery only renders into the outbox: nothing is sent."""

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        raise AssertionError(f"recovery sent {request.ACTION}")


def test_power_loss_end_from_a_journal_written_before_neutral_samples_sends_the_same_payload(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "state")
    outbox, journal = Outbox(conn), TxJournal(conn)
    with journal.atomic():
        journal.open("tx-1", 1, 1, ("CARD-1", "ISO14443"), 7, "Charging", 1000.0)
        journal.take_seq_no("tx-1")
        journal.record_energy("tx-1", 1008.6)
        journal.record_ended_samples("tx-1", BEFORE["tx_ended_sampler_format1"])
    messages = TransactionMessages(
        station_settings(tmp_path, 1),
        DeviceModel(load_definitions(ROOT / "config" / "device_model", [(1, [1])])),
        outbox,
        journal,
        StoppedClock(),
        Wire201(NoLink()),
        is_connected=lambda: False,
        wake=lambda: None,
    )

    messages.recover()

    rows = conn.execute("SELECT action, payload, transaction_id FROM outbox").fetchall()
    assert rows == [("TransactionEvent", BEFORE["recovered_ended_event"], "tx-1")]
    validate_request("TransactionEvent", json.loads(rows[0][1]))  # (the validator fills in schema defaults)
    payload = json.loads(rows[0][1])
    assert payload["transactionInfo"]["stoppedReason"] == "PowerLoss"
    assert payload["meterValue"][-1]["sampledValue"] == [
        {
            "value": 1065.7,  # the largest energy journaled: the last TxEnded sample beats record_energy's 1008.6
            "context": "Transaction.End",
            "measurand": "Energy.Active.Import.Register",
            "unitOfMeasure": {"unit": "Wh"},
        }
    ]
    assert journal.open_transactions() == []
    conn.close()
