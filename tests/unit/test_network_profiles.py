"""The pure rules of network connection profiles (B09 validation, B10 slot order and fallback)."""

from __future__ import annotations

from evse.ocpp.network_profiles import check_priority, check_profile, slot_to_try, slots_at_or_above
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


def reason(slot: int, data: m.NetworkConnectionProfileType, in_use: int = 1) -> str | None:
    rejection = check_profile(slot, data, offered_slots=["1", "2"], security_profile_in_use=in_use)
    return None if rejection is None else rejection.reason


def test_a_valid_profile_for_an_offered_slot_is_accepted() -> None:
    assert reason(2, profile()) is None
    assert reason(2, profile("wss://csms.example/ocpp", 2)) is None


def test_invalid_profiles_are_rejected_with_a_short_reason_code() -> None:
    assert reason(3, profile()) == "InvalidConfSlot"
    assert reason(2, profile(security_profile=0)) == "NoSecurityDowngrade"
    assert reason(2, profile("wss://csms.example/ocpp", 1)) == "InvalidURL"
    assert reason(2, profile("ws://csms.example/ocpp", 2)) == "InvalidURL"
    # A05: the certificates of profile 3 are checked when the priority lists the slot, not here.
    assert reason(2, profile("wss://csms.example/ocpp", 3)) is None
    soap = profile().model_copy(update={"ocppTransport": m.OCPPTransportEnumType.SOAP})
    assert reason(2, soap) == "UnsupportedProtocol"
    for code in ("InvalidConfSlot", "NoSecurityDowngrade", "UnsupportedProtocol", "InvalidSecProfile"):
        assert len(code) <= 20  # StatusInfoType.reasonCode maxLength


def test_slots_are_tried_in_priority_order_and_fall_back_after_the_attempts() -> None:
    usable = {"1", "2"}
    assert [slot_to_try(["2", "1"], usable, failures, 2) for failures in range(6)] == ["2", "2", "1", "1", "2", "2"]
    assert slot_to_try(["3", "1"], usable, 0, 2) == "1"  # an empty slot is skipped
    assert slot_to_try(["3"], usable, 0, 2) is None


SECURITY = {"1": 1, "2": 2, "3": 3}


def priority_reason(slots: list[str], in_use: int = 1, root: bool = True, cert: bool = True) -> str | None:
    rejection = check_priority(
        slots,
        SECURITY.get,
        security_profile_in_use=in_use,
        csms_root=lambda: root,
        station_certificate=lambda: cert,
    )
    return None if rejection is None else rejection.reason


def test_A05_priority_with_an_upgrade_needs_the_certificates_of_its_profile() -> None:
    """A05.FR.02: profile 2/3 without a valid CSMS root is rejected; A05.FR.03: profile 3 without a valid
    ChargingStationCertificate is rejected; A05.FR.04: otherwise accepted."""
    assert priority_reason(["2", "1"]) is None
    assert priority_reason(["2", "1"], root=False) == "InvalidCertificate"
    assert priority_reason(["3"], cert=False) == "InvalidCertificate"
    assert priority_reason(["2"], cert=False) is None
    assert priority_reason(["1", "4"], root=False, cert=False) is None  # profile 1 and an empty slot


def test_A05_priority_listing_a_slot_below_the_profile_in_use_is_a_downgrade() -> None:
    assert priority_reason(["3", "2"], in_use=3) == "NoSecurityDowngrade"
    assert priority_reason(["3"], in_use=3) is None


def test_A05_slots_below_the_profile_in_use_are_never_tried() -> None:
    assert slots_at_or_above({"1", "2", "3"}, SECURITY.get, 2) == {"2", "3"}
    # Only a technician's YAML below it is left: the YAML slot, a change made on site.
    assert slots_at_or_above({"1"}, SECURITY.get, 3) == {"1"}
