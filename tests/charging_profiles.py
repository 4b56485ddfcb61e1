"""Charging profiles for tests: as the station's models (unit tests) and as the CSMS sends them (wire tests)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from evse.clock import ocpp_timestamp
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import profile_from_201
from evse.smartcharging.model import Profile

Period = tuple[int, float] | tuple[int, float, int]  # (startPeriod, limit[, numberPhases])


def wire_profile(
    profile_id: int,
    purpose: str,
    periods: Sequence[Period],
    *,
    stack_level: int = 0,
    kind: str = "Absolute",
    unit: str = "A",
    start: datetime | None = None,
    duration: int | None = None,
    recurrency: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    transaction_id: str | None = None,
    min_rate: float | None = None,
) -> dict[str, Any]:
    """A ChargingProfileType as JSON (camelCase), the form the CSMS puts on the wire."""
    schedule: dict[str, Any] = {
        "id": profile_id,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [
            {"startPeriod": p[0], "limit": p[1], **({"numberPhases": p[2]} if len(p) > 2 else {})} for p in periods
        ],
    }
    if start is not None:
        schedule["startSchedule"] = ocpp_timestamp(start)
    if duration is not None:
        schedule["duration"] = duration
    if min_rate is not None:
        schedule["minChargingRate"] = min_rate
    profile: dict[str, Any] = {
        "id": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [schedule],
    }
    optional = {
        "recurrencyKind": recurrency,
        "validFrom": ocpp_timestamp(valid_from) if valid_from else None,
        "validTo": ocpp_timestamp(valid_to) if valid_to else None,
        "transactionId": transaction_id,
    }
    profile.update({k: v for k, v in optional.items() if v is not None})
    return profile


def profile_201(profile_id: int, purpose: str, periods: Sequence[Period], **options: Any) -> m.ChargingProfileType:
    """The same profile as the 2.0.1 message class."""
    return m.ChargingProfileType.model_validate(wire_profile(profile_id, purpose, periods, **options))


def profile(profile_id: int, purpose: str, periods: Sequence[Period], **options: Any) -> Profile:
    """The same profile as the smart-charging engine's model (read as the 2.0.1 adapter reads it)."""
    return profile_from_201(profile_201(profile_id, purpose, periods, **options))


def snake(data: Any) -> Any:
    """camelCase JSON to the snake_case the `ocpp` library's call classes take."""
    if isinstance(data, dict):
        return {_snake_key(k): snake(v) for k, v in data.items()}
    if isinstance(data, list):
        return [snake(v) for v in data]
    return data


def _snake_key(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
