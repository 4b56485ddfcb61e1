"""The station's words to its CSMS, said by a protocol adapter (issue 13: evse/station holds no message class).

The shell decides what the CSMS must hear (a transaction event, a connector status, an event report) and
what it asks (a boot, a token, a certificate); the adapter's `Wire` says it. A renderer returns the
message to queue, opaque here (the outbox needs only its ACTION and payload, the `OcppMessage` protocol);
a call sends it and returns the answer in the station's own terms. Each area of the station has its part
of the port (wire_tx, wire_tokens, wire_events, wire_charging); the 2.0.1 adapter (evse/ocpp/v201/wire/)
implements them all. Under 1.6 the adapter's CALLs go through the V16Sender, which says each in 1.6
(docs/ocpp16-design.md).
"""

from __future__ import annotations

from typing import Protocol

from evse.station.shell.wire_charging import ChargingWire
from evse.station.shell.wire_events import EventWire
from evse.station.shell.wire_tokens import TokenWire
from evse.station.shell.wire_tx import TxWire


class Wire(TxWire, TokenWire, EventWire, ChargingWire, Protocol):
    """Everything the station says to the CSMS and asks of it."""
