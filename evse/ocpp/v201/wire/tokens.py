"""The tokens part of the station's port (evse/station/shell/wire_tokens.py), said in OCPP 2.0.1."""

from __future__ import annotations

from evse.ocpp.v201.wire.base import WireBase


class Tokens201(WireBase):
    """evse.station.shell.wire_tokens.TokenWire in 2.0.1."""
