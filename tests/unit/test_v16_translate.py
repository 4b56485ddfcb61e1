"""The 1.6 adapter's pure mappings (evse/ocpp/v16/translate.py), checked against the official 1.6 schemas."""

from __future__ import annotations

from typing import Any

import pytest

from evse.ocpp.v16 import schemas as v16_schemas
from evse.ocpp.v16 import translate

STARTED: dict[str, Any] = {
    "eventType": "Started",
    "timestamp": "2026-12-01T10:00:00Z",
    "triggerReason": "CablePluggedIn",
    "seqNo": 0,
    "transactionInfo": {"transactionId": "local-1", "chargingState": "EVConnected"},
    "idToken": {"idToken": "AABBCCDD", "type": "ISO14443"},
    "evse": {"id": 2, "connectorId": 1},
    "reservationId": 5,
    "meterValue": [
        {
            "timestamp": "2026-12-01T10:00:00Z",
            "sampledValue": [
                {
                    "value": 1.2345,
                    "context": "Transaction.Begin",
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "kWh"},
                }
            ],
        }
    ],
}


def test_started_becomes_a_valid_start_transaction_with_meter_start_in_whole_wh() -> None:
    meter_start = translate.register_wh(STARTED["meterValue"], "Transaction.Begin")
    assert meter_start == 1235  # 1.2345 kWh, rounded half up to whole Wh (meterStart is an integer)
    body = translate.start_transaction(STARTED, meter_start)
    v16_schemas.validate_request("StartTransaction", dict(body))
    assert body == {
        "connectorId": 2,
        "idTag": "AABBCCDD",
        "meterStart": 1235,
        "timestamp": "2026-12-01T10:00:00Z",
        "reservationId": 5,
    }


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Remote", "Remote"),
        ("EVDisconnected", "EVDisconnected"),
        ("ImmediateReset", "HardReset"),
        ("MasterPass", "Local"),
        ("GroundFault", "Other"),
        ("EnergyLimitReached", "Other"),
        ("PowerLoss", "PowerLoss"),
        (None, None),
    ],
)
def test_stop_reason_mapping(reason: str | None, expected: str | None) -> None:
    """1.6 Reason has 11 values; 2.0.1's others are said as the nearest 1.6 one (docs/ocpp16-design.md 4.2)."""
    assert translate.stop_reason(reason) == expected


def test_ended_becomes_a_valid_stop_transaction_with_a_custom_soft_reset_reason() -> None:
    ended = {
        "eventType": "Ended",
        "timestamp": "2026-12-01T11:00:00Z",
        "transactionInfo": {"transactionId": "local-1", "stoppedReason": "Other"},
        "customData": {"vendorId": "org.openevse.StoppedReason", "stoppedReason": "SoftReset"},
        "meterValue": [
            {
                "timestamp": "2026-12-01T11:00:00Z",
                "sampledValue": [
                    {"value": 5000, "context": "Transaction.End", "unitOfMeasure": {"unit": "Wh"}},
                    {"value": 50, "context": "Transaction.End", "measurand": "Frequency"},
                    {"value": 4, "context": "Transaction.End", "measurand": "Energy.Active.Net"},
                ],
            }
        ],
    }
    body = translate.stop_transaction(ended, 1001, 5000)
    v16_schemas.validate_request("StopTransaction", dict(body))
    assert body["reason"] == "SoftReset" and body["meterStop"] == 5000 and "idTag" not in body
    # Energy.Active.Net is 2.0.1 only; Frequency is kept (its unit is not given, so no Hertz either)
    measurands = [s["measurand"] for s in body["transactionData"][0]["sampledValue"]]
    assert measurands == ["Energy.Active.Import.Register", "Frequency"]


def test_sampled_value_applies_the_multiplier_and_writes_a_plain_number() -> None:
    sample = {"value": 12.5, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W", "multiplier": 3}}
    assert translate.sampled_value(sample) == {"value": "12500", "measurand": "Power.Active.Import", "unit": "W"}
    assert translate.sampled_value({"value": 1e-7, "unitOfMeasure": {"unit": "Wh"}})["value"] == "0.0000001"


def test_id_tag_info_keeps_the_group_and_expiry() -> None:
    info16 = {"status": "Accepted", "expiryDate": "2027-01-01T00:00:00Z", "parentIdTag": "GROUP1"}
    info201 = translate.id_token_info(info16)
    assert info201 == {
        "status": "Accepted",
        "cacheExpiryDateTime": "2027-01-01T00:00:00Z",
        "groupIdToken": {"idToken": "GROUP1", "type": "Central"},
    }


def test_boot_notification_fits_the_1_6_field_lengths() -> None:
    payload = {
        "reason": "PowerUp",
        "chargingStation": {
            "model": "M" * 30,
            "vendorName": "V" * 30,
            "serialNumber": "S" * 30,
            "firmwareVersion": "1",
        },
    }
    body = translate.boot_notification(payload, ("MeterType", None))
    v16_schemas.validate_request("BootNotification", dict(body))
    assert len(body["chargePointModel"]) == 20 and body["meterType"] == "MeterType"


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Downloading", "Downloading"), ("InstallRebooting", None), ("InvalidSignature", "InstallationFailed"),
     ("DownloadScheduled", None)],
)  # fmt: skip
def test_firmware_status_mapping(status: str, expected: str | None) -> None:
    assert translate.firmware_status(status) == expected
