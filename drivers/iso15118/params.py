"""The keys both bridge drivers share in the board YAML: heartbeat and silence timeout."""

from __future__ import annotations

from typing import Final, Self

from pydantic import Field, model_validator

from drivers.interfaces import DriverParams

DEFAULT_HEARTBEAT_MS: Final = 500
DEFAULT_TIMEOUT_MS: Final = 2000


class LinkTimingParams(DriverParams):
    """Heartbeat period and the silence after which the module counts as lost (both in ms)."""

    heartbeat_ms: int = Field(DEFAULT_HEARTBEAT_MS, ge=20, le=60_000, description="heartbeat period, ms")
    timeout_ms: int = Field(DEFAULT_TIMEOUT_MS, ge=100, le=600_000, description="module lost after, ms")

    @model_validator(mode="after")
    def _timeout_spans_two_heartbeats(self) -> Self:
        # One lost heartbeat must not raise a fault.
        if self.timeout_ms < 2 * self.heartbeat_ms:
            raise ValueError(
                f"timeout_ms ({self.timeout_ms}) must be at least twice heartbeat_ms ({self.heartbeat_ms})"
            )
        return self
