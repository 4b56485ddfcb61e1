"""How the development CSMS answers a station speaking OCPP 1.6J, and its record of 1.6 transactions.

Under 1.6 the CSMS, not the station, names a transaction: StartTransaction.conf hands out the
transactionId that MeterValues and StopTransaction then quote. The record kept here is what tests
use to check the rule 1.6 makes hard for a station (a transaction started offline, a SIGKILL between
start and stop): exactly one StartTransaction and one StopTransaction per charging session.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.v16 import call_result, datatypes
from ocpp.v201 import call_result as call_result201
from ocpp.v201 import datatypes as datatypes201

from evse.devcsms.pnc import PlugAndChargeCsms
from evse.devcsms.responses import ScriptedAnswers, to_call_result
from evse.ocpp.v16.pnc import VENDOR_ID as PNC_VENDOR_ID

#: Every request a Charge Point may send to the Central System in OCPP 1.6J, with those the 1.6
#: security whitepaper (edition 3) adds; DataTransfer goes both ways.
STATION_ACTIONS_16: tuple[str, ...] = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
)

# Ids start well above 1 so that a station mistaking its connector id or a counter of its own for the
# CSMS's transactionId is caught by a test.
_FIRST_TRANSACTION_ID = 1001


@dataclass
class Transaction16:
    """One transactionId this CSMS handed out, with every message that referred to it.

    ``stops`` is a list, not a field that a second StopTransaction would overwrite: a station that
    reports a transaction twice (a replay after SIGKILL) must be visible to the test.
    """

    transaction_id: int
    station: str
    #: The StartTransaction.req payload (camelCase) the id answered.
    start: dict[str, Any]
    stops: list[dict[str, Any]] = field(default_factory=list)
    #: MeterValues.req payloads that named this transactionId.
    meter_values: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stop(self) -> dict[str, Any] | None:
        """The StopTransaction.req payload when there was exactly one, else None."""
        return self.stops[0] if len(self.stops) == 1 else None

    def problems(self) -> list[str]:
        """What is wrong with this transaction as a finished one: missing or doubled stop, meter backwards."""
        if len(self.stops) != 1:
            return [f"transaction {self.transaction_id} has {len(self.stops)} StopTransaction(s), expected 1"]
        meter_start, meter_stop = self.start["meterStart"], self.stops[0]["meterStop"]
        if meter_stop < meter_start:
            return [f"transaction {self.transaction_id}: meterStop {meter_stop} < meterStart {meter_start}"]
        return []


@dataclass
class CsmsBehaviour16(ScriptedAnswers):
    """The OCPP 1.6J answers: idTags checked as IdTagInfo, fresh increasing transactionIds, acks.

    ``transactions`` maps every transactionId handed out (by the default answer or by a test's
    ``respond``) to its record; StopTransaction and MeterValues quoting an id this CSMS never gave
    land in ``strays``.
    """

    call_results: ClassVar[ModuleType] = call_result
    #: Plug & Charge (the OCA 1.6 whitepaper, 2.0.1 messages in DataTransfer): the same contracts, OCSP
    #: responder and Get15118EVCertificate hook as the 2.0.1 CSMS.
    pnc: PlugAndChargeCsms = field(init=False)
    #: messageId -> the 2.0.1 answer (camelCase dict or ocpp.v201 call_result) to a whitepaper DataTransfer, in
    #: place of the default; SignCertificate is Rejected by default (this CSMS has no CA), as under 2.0.1.
    pnc_overrides: dict[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)
    transactions: dict[int, Transaction16] = field(default_factory=dict)
    #: (station, action, payload) of StopTransaction/MeterValues naming an unknown transactionId.
    strays: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    next_transaction_id: int = _FIRST_TRANSACTION_ID

    def __post_init__(self) -> None:
        self.pnc = PlugAndChargeCsms(self.clock)

    def id_tag_info(self, id_tag: str) -> datatypes.IdTagInfo:
        """Accepted for a listed idTag or a known contract's eMAID (Plug & Charge), Invalid otherwise (1.6 has
        no Unknown status)."""
        known = id_tag in self.tokens or self.pnc.knows(id_tag)
        return datatypes.IdTagInfo(status="Accepted" if known else "Invalid")

    def _default(self, action: str, payload: dict[str, Any]) -> Any:
        if action == "BootNotification":
            return call_result.BootNotification(
                current_time=self._now(), interval=self.boot_interval, status=self.boot_status
            )
        if action == "Heartbeat":
            return call_result.Heartbeat(current_time=self._now())
        if action == "Authorize":
            return call_result.Authorize(id_tag_info=self.id_tag_info(payload["idTag"]))
        if action == "StartTransaction":
            # Every StartTransaction gets a new id, a repeated one included: that is what a real
            # Central System does, and the record then shows the duplicate.
            return call_result.StartTransaction(
                transaction_id=self.next_transaction_id, id_tag_info=self.id_tag_info(payload["idTag"])
            )
        if action == "StopTransaction":
            id_tag = payload.get("idTag")
            return call_result.StopTransaction(id_tag_info=None if id_tag is None else self.id_tag_info(id_tag))
        if action == "DataTransfer":
            if payload.get("vendorId") == PNC_VENDOR_ID:
                return self._plug_and_charge(str(payload.get("messageId")), payload.get("data"))
            # The spec's answer when no vendor extension is known to this Central System.
            return call_result.DataTransfer(status="UnknownVendorId")
        if action == "SignCertificate":
            # Accepted, so that a station's CSR flow proceeds; a test sends CertificateSigned itself.
            return call_result.SignCertificate(status="Accepted")
        # Every other Charge Point request is a notification with an empty confirmation.
        return {}

    def _plug_and_charge(self, message_id: str, data: Any) -> call_result.DataTransfer:
        """The whitepaper's DataTransfer: the 2.0.1 request in `data`, answered as the 2.0.1 CSMS would."""
        try:
            request = json.loads(data)
        except (TypeError, ValueError):
            return call_result.DataTransfer(status="Rejected")
        if not isinstance(request, dict):
            return call_result.DataTransfer(status="Rejected")
        override = self.pnc_overrides.get(message_id)
        if override is not None:
            result = override(request)
        elif message_id == "Authorize":
            emaid = str(request.get("idToken", {}).get("idToken", ""))
            info = datatypes201.IdTokenInfoType(status=self.id_tag_info(emaid).status)
            result = self.pnc.authorize(request, info)
        elif message_id == "Get15118EVCertificate":
            result = self.pnc.ev_certificate(request)
        elif message_id == "GetCertificateStatus":
            result = self.pnc.certificate_status(request)
        elif message_id == "SignCertificate":
            result = call_result201.SignCertificate(status="Rejected")
        else:
            return call_result.DataTransfer(status="UnknownMessageId")
        answer = to_call_result(call_result201, message_id, result)
        text = json.dumps(snake_to_camel_case(remove_nones(serialize_as_dict(answer))), separators=(",", ":"))
        return call_result.DataTransfer(status="Accepted", data=text)

    def _answered(self, station: str, action: str, payload: dict[str, Any], response: Any) -> None:
        if action == "StartTransaction":
            transaction_id = int(response.transaction_id)
            self.transactions[transaction_id] = Transaction16(transaction_id, station, payload)
            # Past any id a test scripted too, so that ids stay unique and increasing.
            self.next_transaction_id = max(self.next_transaction_id, transaction_id) + 1
        elif action in ("StopTransaction", "MeterValues") and "transactionId" in payload:
            record = self.transactions.get(payload["transactionId"])
            if record is None or record.station != station:
                self.strays.append((station, action, payload))
            elif action == "StopTransaction":
                record.stops.append(payload)
            else:
                record.meter_values.append(payload)
