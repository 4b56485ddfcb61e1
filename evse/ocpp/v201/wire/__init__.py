"""The station's port to its CSMS (evse/station/shell/wire.py), said in OCPP 2.0.1: the one place that
turns what the station decided into 2.0.1 messages and the CSMS's 2.0.1 answers into the station's terms."""

from __future__ import annotations

from evse.ocpp.v201.wire.charging import Charging201
from evse.ocpp.v201.wire.events import Events201
from evse.ocpp.v201.wire.tokens import Tokens201
from evse.ocpp.v201.wire.tx import Tx201


class Wire201(Tx201, Tokens201, Events201, Charging201):
    """Every part of the port; built on the connection (or the 1.6 sender)."""
