"""The tokens part of the station's port to its CSMS (evse/station/shell/wire.py)."""

from __future__ import annotations

from typing import Protocol


class TokenWire(Protocol):
    """What the station's tokens code says to the CSMS and asks of it."""
