"""The station's outgoing messages, as OCPP 1.6 says them: pure mappings of payloads, no I/O.

The station writes what it has to tell the CSMS in one vocabulary (today the 2.0.1 payloads, stored in
the outbox and the journal); the 1.6 adapter (`evse/ocpp/v16/sender.py`) says the same in 1.6 at send
time. Every function here takes the station's payload (JSON, as the outbox holds it) and returns the 1.6
payload, or None when 1.6 has nothing to say it with (the message is then not sent). Mappings follow
docs/ocpp16-design.md section 4.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# 1.6 Measurand values (OCPP 1.6 section 7.31); 2.0.1 measurands outside this set are not sent under 1.6.
MEASURANDS = frozenset(
    {
        "Energy.Active.Export.Register",
        "Energy.Active.Import.Register",
        "Energy.Reactive.Export.Register",
        "Energy.Reactive.Import.Register",
        "Energy.Active.Export.Interval",
        "Energy.Active.Import.Interval",
        "Energy.Reactive.Export.Interval",
        "Energy.Reactive.Import.Interval",
        "Power.Active.Export",
        "Power.Active.Import",
        "Power.Offered",
        "Power.Reactive.Export",
        "Power.Reactive.Import",
        "Power.Factor",
        "Current.Import",
        "Current.Export",
        "Current.Offered",
        "Voltage",
        "Frequency",
        "Temperature",
        "SoC",
        "RPM",
    }
)
UNITS = frozenset(
    {"Wh", "kWh", "varh", "kvarh", "W", "kW", "VA", "kVA", "var", "kvar", "A", "V", "K", "Celsius", "Fahrenheit"}
    | {"Percent", "Hertz"}
)
# StopTransaction's schema lists the units without Hertz (1.6 edition 2 errata): such samples are left out.
STOP_UNITS = UNITS - {"Hertz"}
REGISTER = "Energy.Active.Import.Register"
#: The type a 1.6 parentIdTag gets as the station's groupIdToken: 1.6 does not say, the CSMS assigns it.
GROUP_TOKEN_TYPE = "Central"

# stoppedReason (2.0.1 ReasonEnumType) -> 1.6 Reason; same-named values map to themselves.
REASONS_16 = frozenset(
    {"EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss", "Reboot", "Remote"}
    | {"SoftReset", "UnlockCommand", "DeAuthorized"}
)
REASON_MAP = {"ImmediateReset": "HardReset", "MasterPass": "Local"}

# FirmwareStatusEnumType (2.0.1) -> 1.6 FirmwareStatus; None: the step has no 1.6 status and is not reported.
FIRMWARE_STATUS = {
    "Downloaded": "Downloaded",
    "DownloadFailed": "DownloadFailed",
    "Downloading": "Downloading",
    "DownloadScheduled": None,
    "DownloadPaused": None,
    "Idle": "Idle",
    "InstallationFailed": "InstallationFailed",
    "Installing": "Installing",
    "Installed": "Installed",
    "InstallRebooting": None,  # Installing was said already; Installed follows the reboot
    "InstallScheduled": None,
    "InstallVerificationFailed": "InstallationFailed",
    "InvalidSignature": "InstallationFailed",
    "SignatureVerified": None,
}
# UploadLogStatusEnumType (2.0.1) -> 1.6 DiagnosticsStatus, for GetDiagnostics.
DIAGNOSTICS_STATUS = {
    "Idle": "Idle",
    "Uploaded": "Uploaded",
    "Uploading": "Uploading",
    "UploadFailure": "UploadFailed",
    "BadMessage": "UploadFailed",
    "NotSupportedOperation": "UploadFailed",
    "PermissionDenied": "UploadFailed",
    "AcceptedCanceled": None,
}
# The 2.0.1 security event types whose 1.6 whitepaper name differs (edition 3, appendix 1); the rest are the same.
SECURITY_EVENTS_16 = {
    "InvalidChargingStationCertificate": "InvalidChargePointCertificate",
    "InvalidCsmsCertificate": "InvalidCentralSystemCertificate",
    "FailedToAuthenticateAtCsms": "FailedToAuthenticateAtCentralSystem",
    "CsmsFailedToAuthenticate": "CentralSystemFailedToAuthenticate",
}
# 1.6 security whitepaper UploadLogStatus: the 2.0.1 set without AcceptedCanceled.
LOG_STATUS_16 = frozenset(
    {"BadMessage", "Idle", "NotSupportedOperation", "PermissionDenied", "Uploaded", "UploadFailure", "Uploading"}
)


def number(value: Any) -> str:
    """A 2.0.1 decimal as 1.6's string value: no exponent, no float noise ("12.5", "3000")."""
    return format(Decimal(str(value)).normalize(), "f")


def sampled_value(sample: dict[str, Any], units: frozenset[str] = UNITS) -> dict[str, Any] | None:
    """A 2.0.1 SampledValueType as a 1.6 SampledValue; None for a measurand or unit 1.6 lacks."""
    measurand = sample.get("measurand", REGISTER)
    if measurand not in MEASURANDS:
        return None
    unit_of_measure = sample.get("unitOfMeasure") or {}
    unit = unit_of_measure.get("unit")
    value = Decimal(str(sample["value"]))
    multiplier = int(unit_of_measure.get("multiplier", 0))
    if multiplier:
        value = value.scaleb(multiplier)  # 1.6 has no multiplier: the value carries it
    if unit == "Celcius":
        unit = "Celsius"
    if unit is not None and unit not in units:
        return None
    out: dict[str, Any] = {"value": number(value), "measurand": measurand}
    for key in ("context", "phase", "location"):
        if key in sample:
            out[key] = sample[key]
    if unit is not None:
        out["unit"] = unit
    return out


def meter_values(values: list[dict[str, Any]], units: frozenset[str] = UNITS) -> list[dict[str, Any]]:
    """2.0.1 MeterValueTypes as 1.6 MeterValues; a value with nothing 1.6 can say is left out."""
    out = []
    for value in values:
        samples = [s for s in (sampled_value(v, units) for v in value.get("sampledValue", [])) if s is not None]
        if samples:
            out.append({"timestamp": value["timestamp"], "sampledValue": samples})
    return out


def register_wh(values: list[dict[str, Any]], context: str) -> int | None:
    """The Energy.Active.Import.Register reading of the given context, in Wh, as 1.6's integer meterStart/Stop."""
    found: int | None = None
    for value in values:
        for sample in value.get("sampledValue", []):
            if sample.get("measurand", REGISTER) != REGISTER or sample.get("context") != context:
                continue
            unit_of_measure = sample.get("unitOfMeasure") or {}
            wh = Decimal(str(sample["value"])).scaleb(int(unit_of_measure.get("multiplier", 0)))
            if unit_of_measure.get("unit") == "kWh":
                wh *= 1000
            found = int(wh.to_integral_value(ROUND_HALF_UP))  # 1.6 meterStart/meterStop are whole Wh
    return found


def id_tag(token: dict[str, Any] | None) -> str | None:
    """A 2.0.1 IdTokenType's value as 1.6 idTag (CiString20)."""
    return str(token["idToken"])[:20] if token else None


def id_token_info(id_tag_info: dict[str, Any]) -> dict[str, Any]:
    """1.6 IdTagInfo as 2.0.1 IdTokenInfoType: the five 1.6 statuses are 2.0.1 ones; the parent id tag is
    the group (C09), typed Central since 1.6 does not say."""
    info: dict[str, Any] = {"status": id_tag_info["status"]}
    if "expiryDate" in id_tag_info:
        info["cacheExpiryDateTime"] = id_tag_info["expiryDate"]
    if "parentIdTag" in id_tag_info:
        info["groupIdToken"] = {"idToken": id_tag_info["parentIdTag"], "type": GROUP_TOKEN_TYPE}
    return info


def boot_notification(payload: dict[str, Any], meter: tuple[str | None, str | None] = (None, None)) -> dict[str, Any]:
    station = payload["chargingStation"]
    out: dict[str, Any] = {
        "chargePointVendor": station["vendorName"][:20],
        "chargePointModel": station["model"][:20],
    }
    if "serialNumber" in station:
        out["chargePointSerialNumber"] = station["serialNumber"][:25]
    if "firmwareVersion" in station:
        out["firmwareVersion"] = station["firmwareVersion"][:50]
    modem = station.get("modem") or {}
    for key, key16 in (("iccid", "iccid"), ("imsi", "imsi")):
        if key in modem:
            out[key16] = modem[key][:20]
    if meter[0]:
        out["meterType"] = meter[0][:25]
    if meter[1]:
        out["meterSerialNumber"] = meter[1][:25]
    return out


def start_transaction(payload: dict[str, Any], meter_start_wh: int) -> dict[str, Any]:
    """TransactionEvent Started as StartTransaction.req (the Started samples go in a MeterValues after it)."""
    out: dict[str, Any] = {
        "connectorId": connector_id(payload),
        "idTag": id_tag(payload.get("idToken")) or "",
        "meterStart": meter_start_wh,
        "timestamp": payload["timestamp"],
    }
    if "reservationId" in payload:
        out["reservationId"] = payload["reservationId"]
    return out


def connector_id(payload: dict[str, Any]) -> int:
    """1.6 numbers connectors station-wide; this station has one connector per EVSE, so connectorId = evseId."""
    evse = payload.get("evse")
    return int(evse["id"]) if evse else 0


def stop_reason(stopped_reason: str | None) -> str | None:
    if stopped_reason is None:
        return None  # 1.6: an absent reason means Local
    if stopped_reason in REASONS_16:
        return stopped_reason
    return REASON_MAP.get(stopped_reason, "Other")


def stop_transaction(
    payload: dict[str, Any], csms_tx_id: int, meter_stop_wh: int, start_id_tag: str | None = None
) -> dict[str, Any]:
    """TransactionEvent Ended as StopTransaction.req, with the TxEnded samples as transactionData.

    `start_id_tag` is the idTag the transaction started with: 2.0.1 leaves the token out of an Ended
    stopped by the same card, 1.6 names whoever stopped it (TC_068_CS checks it is the starting one).
    """
    info = payload.get("transactionInfo", {})
    out: dict[str, Any] = {"transactionId": csms_tx_id, "meterStop": meter_stop_wh, "timestamp": payload["timestamp"]}
    stopper = id_tag(payload.get("idToken"))  # who stopped it, when another token than the starting one did
    if stopper is None and payload.get("triggerReason") == "StopAuthorized" and start_id_tag:
        stopper = start_id_tag[:20]
    if stopper is not None:
        out["idTag"] = stopper
    custom = payload.get("customData") or {}
    reason = custom.get("stoppedReason") or stop_reason(info.get("stoppedReason"))  # SoftReset: REASON_VENDOR
    if reason is not None:
        out["reason"] = reason
    data = meter_values(payload.get("meterValue", []), STOP_UNITS)
    if data:
        out["transactionData"] = data
    return out


def firmware_status(status: str) -> str | None:
    return FIRMWARE_STATUS.get(status)


def diagnostics_status(status: str) -> str | None:
    return DIAGNOSTICS_STATUS.get(status)


def security_event_type(event_type: str) -> str:
    return SECURITY_EVENTS_16.get(event_type, event_type)


def log_status(status: str) -> str | None:
    return status if status in LOG_STATUS_16 else None
