"""The events part of the station's port to its CSMS (evse/station/shell/wire.py)."""

from __future__ import annotations

from typing import Protocol


class EventWire(Protocol):
    """What the station's events code says to the CSMS and asks of it."""
