"""``iso15118.can_bridge``: the SECC module on a CAN bus (python-can; socketcan on the board).

Wire format: docs/iso15118-bridge.md. The station sends on ``base_id`` and listens on ``base_id + 1``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

import can
from pydantic import Field, field_validator

from drivers.iso15118.bridge import LinkedBridge
from drivers.iso15118.can_transport import CanTransport
from drivers.iso15118.link import ModuleLink, utc_now
from drivers.iso15118.params import DEFAULT_HEARTBEAT_MS, DEFAULT_TIMEOUT_MS, LinkTimingParams

DEFAULT_BASE_ID: Final = 0x600


class CanIso15118Bridge(LinkedBridge):
    """The station's bridge to an SECC module on CAN; an :class:`~drivers.interfaces.Iso15118Bridge`."""

    class Params(LinkTimingParams):
        """Keys of ``iso15118: {driver: can_bridge, ...}`` in the board YAML."""

        channel: str = Field("can0", min_length=1, description="CAN channel, e.g. can0 (socketcan)")
        interface: str = Field("socketcan", description="python-can interface name")
        bitrate: int = Field(500_000, ge=10_000, le=1_000_000, description="bit/s, for interfaces that set it")
        base_id: int = Field(DEFAULT_BASE_ID, ge=0, le=0x7FE, description="11-bit id station->module; +1 back")

        @field_validator("interface")
        @classmethod
        def _known_interface(cls, value: str) -> str:
            if value not in can.interfaces.VALID_INTERFACES:
                known = ", ".join(sorted(can.interfaces.VALID_INTERFACES))
                raise ValueError(f"unknown CAN interface {value!r}; known: {known}")
            return value

    def __init__(
        self,
        *,
        evse_id: int,
        channel: str = "can0",
        interface: str = "socketcan",
        bitrate: int = 500_000,
        base_id: int = DEFAULT_BASE_ID,
        heartbeat_ms: int = DEFAULT_HEARTBEAT_MS,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"iso15118 {interface}:{channel} evse={evse_id}"
        transport = CanTransport(
            interface=interface,
            channel=channel,
            bitrate=bitrate,
            tx_id=base_id,
            rx_id=base_id + 1,
            device=self.name,
        )
        self._link = ModuleLink(
            evse_id=evse_id,
            transport=transport,
            heartbeat_s=heartbeat_ms / 1000,
            timeout_s=timeout_ms / 1000,
            clock=clock,
            wall_clock=wall_clock,
        )
