"""The events part of the station's port (evse/station/shell/wire_events.py), said in OCPP 2.0.1."""

from __future__ import annotations

from evse.ocpp.v201.wire.base import WireBase


class Events201(WireBase):
    """evse.station.shell.wire_events.EventWire in 2.0.1."""
