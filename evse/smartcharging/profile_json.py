"""Charging profiles as the profile store keeps them: JSON with the key names, values and optional-field
omissions of OCPP 2.0.1's ChargingProfileType, the form every earlier release wrote to SQLite, so a station's
installed profiles read back across the upgrade and a downgrade still reads what this release writes. Pure.

A row that is no profile raises ProfileJsonError (the store drops it, as it always did with rows it could
not read).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evse.smartcharging.model import Kind, Profile, Purpose, RateUnit, Recurrency, Schedule, SchedulePeriod


class ProfileJsonError(ValueError):
    """Stored text that is no charging profile."""


def _timestamp(moment: datetime) -> str:
    # As pydantic wrote it before: ISO 8601, "Z" for UTC.
    text = moment.isoformat()
    return text[:-6] + "Z" if moment.utcoffset() is not None and text.endswith("+00:00") else text


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def profile_to_json(profile: Profile) -> dict[str, Any]:
    """The profile as JSON-ready data (None fields left out)."""
    return _drop_none(
        {
            "id": profile.id,
            "stackLevel": profile.stack_level,
            "chargingProfilePurpose": profile.purpose.value,
            "chargingProfileKind": profile.kind.value,
            "chargingSchedule": [schedule_to_json(s) for s in profile.schedules],
            "customData": profile.vendor_data,
            "recurrencyKind": profile.recurrency.value if profile.recurrency is not None else None,
            "validFrom": _timestamp(profile.valid_from) if profile.valid_from is not None else None,
            "validTo": _timestamp(profile.valid_to) if profile.valid_to is not None else None,
            "transactionId": profile.transaction_id,
        }
    )


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    return _drop_none(
        {
            "id": schedule.id,
            "chargingRateUnit": schedule.rate_unit.value,
            "chargingSchedulePeriod": [
                _drop_none(
                    {
                        "startPeriod": p.start_period,
                        "limit": p.limit,
                        "customData": p.vendor_data,
                        "numberPhases": p.number_phases,
                        "phaseToUse": p.phase_to_use,
                    }
                )
                for p in schedule.periods
            ],
            "customData": schedule.vendor_data,
            "startSchedule": _timestamp(schedule.start) if schedule.start is not None else None,
            "duration": schedule.duration,
            "minChargingRate": schedule.min_charging_rate,
            "salesTariff": schedule.sales_tariff,
        }
    )


def profile_from_json(data: Any) -> Profile:
    """The profile `profile_to_json` (or an earlier release) wrote; ProfileJsonError if it is none."""
    try:
        schedules = tuple(_schedule(s) for s in data["chargingSchedule"])
        if not schedules:
            raise ProfileJsonError("a profile has at least one schedule")
        recurrency = data.get("recurrencyKind")
        transaction_id = data.get("transactionId")
        return Profile(
            id=_int(data["id"]),
            stack_level=_int(data["stackLevel"]),
            purpose=Purpose(data["chargingProfilePurpose"]),
            kind=Kind(data["chargingProfileKind"]),
            schedules=schedules,
            recurrency=Recurrency(recurrency) if recurrency is not None else None,
            valid_from=_optional_time(data.get("validFrom")),
            valid_to=_optional_time(data.get("validTo")),
            transaction_id=str(transaction_id) if transaction_id is not None else None,
            vendor_data=_optional_object(data.get("customData")),
        )
    except ProfileJsonError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProfileJsonError(f"not a charging profile: {exc!r}") from exc


def _schedule(data: Any) -> Schedule:
    periods = tuple(
        SchedulePeriod(
            start_period=_int(p["startPeriod"]),
            limit=_number(p["limit"]),
            number_phases=_optional_int(p.get("numberPhases")),
            phase_to_use=_optional_int(p.get("phaseToUse")),
            vendor_data=_optional_object(p.get("customData")),
        )
        for p in data["chargingSchedulePeriod"]
    )
    if not periods:
        raise ProfileJsonError("a schedule has at least one period")
    rate = data.get("minChargingRate")
    return Schedule(
        id=_int(data["id"]),
        rate_unit=RateUnit(data["chargingRateUnit"]),
        periods=periods,
        start=_optional_time(data.get("startSchedule")),
        duration=_optional_int(data.get("duration")),
        min_charging_rate=_number(rate) if rate is not None else None,
        sales_tariff=_optional_object(data.get("salesTariff")),
        vendor_data=_optional_object(data.get("customData")),
    )


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileJsonError(f"{value!r} is no integer")
    return value


def _optional_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileJsonError(f"{value!r} is no number")
    return float(value)


def _optional_object(value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ProfileJsonError(f"{value!r} is no JSON object")
    return value


def _optional_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProfileJsonError(f"{value!r} is no timestamp")
    # A timestamp without offset stays naive, as the 2.0.1 model read it (the engine reads it as UTC).
    return datetime.fromisoformat(value)
