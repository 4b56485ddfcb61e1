"""The pure rules of network connection profiles (B09 validation, B10 slot order and fallback)."""

from __future__ import annotations

from evse.ocpp.network_profiles import check_profile, slot_to_try
from evse.ocpp.v201 import messages as m


def profile(url: str = "ws://csms.example/ocpp", security_profile: int = 1) -> m.NetworkConnectionProfileType:
    return m.NetworkConnectionProfileType(
        ocppVersion=m.OCPPVersionEnumType.OCPP20,
        ocppTransport=m.OCPPTransportEnumType.JSON,
        ocppCsmsUrl=url,
        messageTimeout=30,
        securityProfile=security_profile,
        ocppInterface=m.OCPPInterfaceEnumType.Wired0,
    )


def reason(slot: int, data: m.NetworkConnectionProfileType, in_use: int = 1, cert: bool = False) -> str | None:
    rejection = check_profile(
        slot, data, offered_slots=["1", "2"], security_profile_in_use=in_use, tls_client_certificate=cert
    )
    return None if rejection is None else rejection.reason


def test_a_valid_profile_for_an_offered_slot_is_accepted() -> None:
    assert reason(2, profile()) is None
    assert reason(2, profile("wss://csms.example/ocpp", 2)) is None


def test_invalid_profiles_are_rejected_with_a_short_reason_code() -> None:
    assert reason(3, profile()) == "InvalidConfSlot"
    assert reason(2, profile(security_profile=0)) == "NoSecurityDowngrade"
    assert reason(2, profile("wss://csms.example/ocpp", 1)) == "InvalidURL"
    assert reason(2, profile("ws://csms.example/ocpp", 2)) == "InvalidURL"
    assert reason(2, profile("wss://csms.example/ocpp", 3)) == "NoClientCertificate"
    assert reason(2, profile("wss://csms.example/ocpp", 3), cert=True) is None
    soap = profile().model_copy(update={"ocppTransport": m.OCPPTransportEnumType.SOAP})
    assert reason(2, soap) == "UnsupportedProtocol"
    for code in ("InvalidConfSlot", "NoSecurityDowngrade", "UnsupportedProtocol", "InvalidSecProfile"):
        assert len(code) <= 20  # StatusInfoType.reasonCode maxLength


def test_slots_are_tried_in_priority_order_and_fall_back_after_the_attempts() -> None:
    usable = {"1", "2"}
    assert [slot_to_try(["2", "1"], usable, failures, 2) for failures in range(6)] == ["2", "2", "1", "1", "2", "2"]
    assert slot_to_try(["3", "1"], usable, 0, 2) == "1"  # an empty slot is skipped
    assert slot_to_try(["3"], usable, 0, 2) is None
