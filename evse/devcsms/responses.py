"""How the development CSMS answers each CALL a station can send, and how tests script it.

The defaults are those of a permissive CSMS a developer can charge against: every boot accepted,
idTokens checked against a short list, every notification acknowledged. A test replaces any answer
with ``respond(action, fn)``; the registration rule (a Rejected station may only boot) is checked
before any override because it is protocol, not scenario.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, is_dataclass
from types import ModuleType
from typing import Any, ClassVar, Literal, Self

from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import SecurityError
from ocpp.v201 import call_result, datatypes

from evse.clock import Clock, ocpp_timestamp
from evse.devcsms.pnc import PlugAndChargeCsms

RegistrationStatus = Literal["Accepted", "Pending", "Rejected"]

#: Cards a developer can present on the simulated RFID reader without configuring anything.
DEFAULT_TOKENS: tuple[str, ...] = ("AABBCCDD", "04A2B3C4D5E6F7", "DEADBEEF", "12345678")

#: Receives the CALL payload (camelCase, as on the wire) and returns the response payload: a
#: camelCase dict or a ``call_result`` instance of the CSMS's version (``ocpp.v201.call_result``,
#: ``ocpp.v16.call_result``), or an awaitable of either. Raising an
#: ``ocpp.exceptions.OCPPError`` answers with that CALLERROR.
ResponseFn = Callable[[dict[str, Any]], Any]

#: Every request a charging station may send to the CSMS in OCPP 2.0.1 (DataTransfer goes both ways).
STATION_ACTIONS: tuple[str, ...] = (
    "Authorize",
    "BootNotification",
    "ClearedChargingLimit",
    "DataTransfer",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmwareStatusNotification",
    "ReportChargingProfiles",
    "ReservationStatusUpdate",
    "SecurityEventNotification",
    "SignCertificate",
    "StatusNotification",
    "TransactionEvent",
)


@dataclass
class ScriptedAnswers(ABC):
    """What every version of the CSMS shares: registration answers, token list, per-action overrides.

    Plain attributes on purpose: a test changes ``boot_status`` between two boots and the next
    BootNotification gets the new answer. A subclass names its version's ``call_result`` module and
    decides the default answers.
    """

    clock: Clock
    tokens: set[str]
    boot_status: RegistrationStatus = "Accepted"
    boot_interval: int = 300
    overrides: dict[str, ResponseFn] = field(default_factory=dict)
    #: The status of the last BootNotification answered per station.
    registration: dict[str, str] = field(default_factory=dict)

    #: The library module whose classes carry this version's answers (``ocpp.v201.call_result`` ...).
    call_results: ClassVar[ModuleType]

    @classmethod
    def create(
        cls,
        clock: Clock,
        tokens: Collection[str] | None,
        boot_status: RegistrationStatus,
        boot_interval: int,
    ) -> Self:
        return cls(
            clock=clock,
            tokens=set(DEFAULT_TOKENS if tokens is None else tokens),
            boot_status=boot_status,
            boot_interval=boot_interval,
        )

    def check_registration(self, station: str, action: str) -> None:
        """Raise SecurityError for anything but BootNotification from a Rejected station.

        OCPP 2.0.1 B03 (and 1.6 section 4.2 likewise): a rejected station sends nothing but
        BootNotification until accepted; answering SecurityError makes a station that does so
        visibly fail.
        """
        if action != "BootNotification" and self.registration.get(station) == "Rejected":
            raise SecurityError(details={"cause": f"{station} is not accepted; send BootNotification"})

    async def answer(self, station: str, action: str, payload: dict[str, Any]) -> Any:
        """The ``call_result`` instance to answer ``action`` from ``station`` with.

        Only an override raises OCPPError (a scripted CALLERROR); the defaults always answer.
        """
        override = self.overrides.get(action)
        result = override(payload) if override is not None else self._default(action, payload)
        if inspect.isawaitable(result):
            result = await result
        response = to_call_result(self.call_results, action, result)
        if action == "BootNotification":
            self.registration[station] = str(response.status)
        self._answered(station, action, payload, response)
        return response

    @abstractmethod
    def _default(self, action: str, payload: dict[str, Any]) -> Any:
        """The answer when no test overrides ``action``: a camelCase dict or call_result."""

    def _answered(self, station: str, action: str, payload: dict[str, Any], response: Any) -> None:
        """Hook: a CALL is about to be answered with ``response`` (overrides included)."""
        # Only a version with something to keep (1.6's transaction record) overrides it.
        return None

    def _now(self) -> str:
        return ocpp_timestamp(self.clock.now())


@dataclass
class CsmsBehaviour(ScriptedAnswers):
    """The OCPP 2.0.1 answers: tokens checked as IdTokenInfo, Plug & Charge, notifications acknowledged."""

    call_results: ClassVar[ModuleType] = call_result
    #: Plug & Charge: contracts, revocations, OCSP responder, Get15118EVCertificate hook.
    pnc: PlugAndChargeCsms = field(init=False)

    def __post_init__(self) -> None:
        self.pnc = PlugAndChargeCsms(self.clock)

    def id_token_info(self, id_token: Mapping[str, Any]) -> datatypes.IdTokenInfoType:
        """Accepted for a listed token, Invalid otherwise.

        ``NoAuthorization`` tokens (free vending, no card) carry no identity to look up, so they
        are accepted as the station already decided no authorization is needed.
        """
        if id_token.get("type") == "eMAID":  # a contract: known to the mobility operator side (pnc)
            accepted = self.pnc.knows(str(id_token.get("idToken", "")))
        else:
            accepted = id_token.get("type") == "NoAuthorization" or id_token.get("idToken") in self.tokens
        return datatypes.IdTokenInfoType(status="Accepted" if accepted else "Invalid")

    def _default(self, action: str, payload: dict[str, Any]) -> Any:
        if action == "BootNotification":
            return call_result.BootNotification(
                current_time=self._now(), interval=self.boot_interval, status=self.boot_status
            )
        if action == "Heartbeat":
            return call_result.Heartbeat(current_time=self._now())
        if action == "Authorize":
            return self.pnc.authorize(payload, self.id_token_info(payload.get("idToken", {})))
        if action == "TransactionEvent":
            id_token = payload.get("idToken")
            if id_token is None:
                return call_result.TransactionEvent()
            return call_result.TransactionEvent(id_token_info=self.id_token_info(id_token))
        if action == "DataTransfer":
            # The spec's answer when no vendor extension is known to this CSMS.
            return call_result.DataTransfer(status="UnknownVendorId")
        if action in ("NotifyEVChargingNeeds", "NotifyEVChargingSchedule"):
            return {"status": "Accepted"}
        if action == "SignCertificate":
            # This CSMS has no CA: refusing is more honest than accepting and never signing.
            return call_result.SignCertificate(status="Rejected")
        if action == "Get15118EVCertificate":
            return self.pnc.ev_certificate(payload)
        if action == "GetCertificateStatus":
            return self.pnc.certificate_status(payload)
        # Every other station request is a notification with an empty response.
        return {}


def to_call_result(call_results: ModuleType, action: str, result: Any) -> Any:
    """Turn a response payload (camelCase dict or call_result instance) into the call_result.

    The ocpp library serializes only dataclasses, and converts their snake_case keys back to
    camelCase; going through its own camel_to_snake_case keeps that round trip exact.
    """
    if is_dataclass(result) and not isinstance(result, type):
        return result
    if not isinstance(result, Mapping):
        raise TypeError(f"response to {action} must be a dict or call_result, not {type(result).__name__}")
    response_class = getattr(call_results, action)
    try:
        return response_class(**camel_to_snake_case(dict(result)))
    except TypeError as exc:
        raise TypeError(f"response to {action} does not fit call_result.{action}: {exc}") from exc


def resolve_override(response: ResponseFn | Mapping[str, Any]) -> ResponseFn:
    """Accept a fixed response payload where a function is expected, for one-line scripting.

    A call_result instance is not callable either, so it is taken as a fixed response too.
    """
    if callable(response):
        return response
    return lambda _payload: response
