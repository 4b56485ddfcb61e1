"""The charging part of the station's port (evse/station/shell/wire_charging.py), said in OCPP 2.0.1."""

from __future__ import annotations

from evse.ocpp.v201.wire.base import WireBase


class Charging201(WireBase):
    """evse.station.shell.wire_charging.ChargingWire in 2.0.1."""
