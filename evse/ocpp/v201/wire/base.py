"""What every part of the 2.0.1 wire shares: the connection its CALLs go out on."""

from __future__ import annotations

from evse.ocpp.calls import CallSender


class WireBase:
    def __init__(self, sender: CallSender) -> None:
        # The connection, or under OCPP 1.6 the V16Sender that says each 2.0.1 CALL in 1.6.
        self._sender = sender
