"""OCTT block C, Plug & Charge (C07: TC_C_50, 51, 54, 55) and EIM over ISO 15118 (C08), with the OCSP status
of the contract chain asked through the CSMS (GetCertificateStatus), and the EV ending its session (E15:
TC_E_46). The OCSP status of the station's own V2G chain (M06, TC_M_24/25) is test_m_v2g_ocsp.py's.

The EV side is the emulated SECC module on a python-can virtual bus: the station's real CAN bridge driver
talks to it, the rest of the board is simulated. The CSMS is the dev CSMS over loopback.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.v201 import call

from drivers.interfaces import Iso15118StopReason
from evse.devcsms.server import DevCsms
from hil.emulators.iso15118 import EmulatedSecc
from tests.cert_factory import stand_in_request_data
from tests.conformance.octt import (
    VALID,
    back_online,
    contactor_closed,
    go_offline,
    settle,
    token,
    tx,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.integration.conftest import STATION_ID, StationUnderTest

EMAID = "DE8EOCAET5E43X1"  # a contract the dev CSMS knows
UNKNOWN_EMAID = "DE8EOCAET5E43X9"
EVCC_ID = "0A1B2C3D4E5F"


# The OCSP data of the contract chain's certificates.
CHAIN = tuple(
    stand_in_request_data(serial, "MO Sub-CA 2", "http://ocsp.mo.example/") for serial in ("1a2b3c", "4d5e6f")
)


@pytest.fixture(name="module")
async def emulated_module() -> AsyncIterator[EmulatedSecc]:
    """The emulated SECC on its own virtual CAN channel (imported by the 1.6 Plug & Charge tests too)."""
    secc = EmulatedSecc.on_can(f"pnc-{uuid.uuid4().hex}")
    await secc.start()
    try:
        yield secc
    finally:
        await secc.close()


def channel_of(module: EmulatedSecc) -> str:
    """The virtual CAN channel the module listens on (its transport names it "emulated SECC virtual:CHANNEL")."""
    return module.transport.device.rsplit(":", 1)[1]


def pnc_board(channel: str) -> dict[str, Any]:
    return {
        "meter": {"driver": "sim"},
        "contactor": {"driver": "sim"},
        "pilot": {"driver": "sim"},
        "lock": {"driver": "sim"},
        "rfid": {"driver": "sim"},
        "iso15118": {"driver": "can_bridge", "channel": channel, "interface": "virtual", "heartbeat_ms": 100},
    }


async def pnc_station(make_station: Any, csms: DevCsms, module: EmulatedSecc, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(board=pnc_board(channel_of(module)), device_model=device_model)
    await csms.wait_for("StatusNotification", timeout=10)
    await module.wait_until(lambda: module.hellos_received > 0)
    return sut


async def present(sut: StationUnderTest, module: EmulatedSecc, emaid: str | None, chain: Any = CHAIN) -> None:
    """The EV is plugged in, opens its ISO 15118 session and offers its contract."""
    sut.d.board.plug(1)
    await module.start_session(EVCC_ID)
    await module.present_contract(emaid, chain)


async def answered(module: EmulatedSecc, count: int = 1) -> bool:
    await module.wait_until(lambda: len(module.authorizations) >= count)
    return module.authorizations[count - 1].accepted


def emaid_token(value: str = EMAID) -> dict[str, str]:
    return {"idToken": value, "type": "eMAID"}


async def test_TC_C_50_CS_contract_accepted_online_charges_to_ended(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C07.FR.01/02: the contract goes to the CSMS as an AuthorizeRequest with the eMAID and the
    iso15118CertificateHashData of its chain; Accepted goes back to the module as AUTHORIZATION and the
    transaction carries the eMAID (type eMAID) from its authorization to its end."""
    sut = await pnc_station(make_station, csms, module)
    await present(sut, module, EMAID)
    request = await csms.wait_for("Authorize", timeout=5)
    assert request["idToken"] == emaid_token()
    assert [h["serialNumber"] for h in request["iso15118CertificateHashData"]] == ["1a2b3c", "4d5e6f"]
    assert request["iso15118CertificateHashData"][0]["hashAlgorithm"] == "SHA256"
    assert "certificate" not in request  # the module validated the chain; bridge v1 carries no certificate
    assert await answered(module)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == emaid_token()
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    await module.stop_session()
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == authorized["transactionInfo"]["transactionId"]
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    csms.assert_no_failures()


async def test_TC_E_46_CS_end_of_charging_process_15118(csms: DevCsms, make_station: Any, module: EmulatedSecc) -> None:
    """E15: while charging on its contract the EV ends its ISO 15118 session (SessionStopReq Terminate): the
    authorization ends, TransactionEvent with triggerReason StopAuthorized, chargingState EVConnected and
    stoppedReason StoppedByEV; the power path opens. TxStopPoint holds Authorized here, so that event is
    the Ended one, before the cable leaves."""
    sut = await pnc_station(make_station, csms, module)
    await present(sut, module, EMAID)
    assert await answered(module)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    await module.stop_session(Iso15118StopReason.STOPPED_BY_EV)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert ended["transactionInfo"]["stoppedReason"] == "StoppedByEV"
    assert not sut.d.board.contactor(1).is_closed
    csms.assert_no_failures()


async def test_E15_ev_ends_its_session_the_transaction_waits_for_the_cable(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """E15 with TxStopPoint EVConnected only: the EV's SessionStop Terminate ends the authorization
    (Updated, StopAuthorized, chargingState EVConnected, no energy); the transaction ends when the cable
    leaves, with the reason of the authorization's end. A session that stops otherwise (a timeout) leaves
    the authorization alone."""
    sut = await pnc_station(make_station, csms, module, **{"TxCtrlr.TxStopPoint": "EVConnected"})
    await present(sut, module, EMAID)
    assert await answered(module)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    await module.stop_session(Iso15118StopReason.TIMEOUT)
    await module.start_session(EVCC_ID)
    await settle()
    stops = [p for p in csms.received("TransactionEvent") if p["triggerReason"] == "StopAuthorized"]
    assert sut.d.board.contactor(1).is_closed and stops == []
    await module.stop_session(Iso15118StopReason.STOPPED_BY_EV)
    update = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="StopAuthorized"), timeout=5)
    assert update["transactionInfo"]["chargingState"] == "EVConnected"
    assert not sut.d.board.contactor(1).is_closed
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["stoppedReason"] == "StoppedByEV"
    csms.assert_no_failures()


async def test_TC_C_51_CS_contract_refused_by_the_csms_is_not_charged(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C07.FR.02: idTokenInfo Accepted is not enough when certificateStatus is not Accepted: the module is
    told the contract is refused, no transaction gets the eMAID and the contactor stays open."""
    csms.respond("Authorize", {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "CertChainError"})
    sut = await pnc_station(make_station, csms, module)
    await present(sut, module, EMAID)
    assert not await answered(module)
    sut.d.board.set_ev_state(1, "C")
    await settle()
    assert not sut.d.board.contactor(1).is_closed
    assert not [p for p in csms.received("TransactionEvent") if p.get("idToken", {}).get("type") == "eMAID"]
    # What the CSMS refused is not kept as Accepted: offline later, the cache must not let it charge.
    assert sut.d.station.pnc.last_verdict[1].reason == "certificateStatus CertChainError"


async def test_TC_C_51_CS_unknown_emaid_refused(csms: DevCsms, make_station: Any, module: EmulatedSecc) -> None:
    """C07.FR.02: an eMAID the CSMS answers Invalid for is refused to the module."""
    sut = await pnc_station(make_station, csms, module)
    await present(sut, module, UNKNOWN_EMAID)
    assert not await answered(module)
    assert (await csms.wait_for("Authorize"))["idToken"] == emaid_token(UNKNOWN_EMAID)


async def test_C07_contract_ocsp_status_asked_through_the_csms_and_cached_until_next_update(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """M06: the station asks GetCertificateStatus with each hash entry's ocspRequestData, keeps the OCSP
    response for its validity (the dev CSMS's responses carry nextUpdate one hour on), and a second contract
    with the same chain asks no more."""
    sut = await pnc_station(make_station, csms, module)
    await present(sut, module, EMAID)
    assert await answered(module)
    asked = csms.received("GetCertificateStatus")
    assert sorted(r["ocspRequestData"]["serialNumber"] for r in asked) == ["1a2b3c", "4d5e6f"]
    assert asked[0]["ocspRequestData"]["responderURL"] == "http://ocsp.mo.example/"
    await module.stop_session()
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    await present(sut, module, EMAID)
    assert await answered(module, 2)
    assert len(csms.received("GetCertificateStatus")) == 2  # from the cache the second time
    assert len(csms.received("Authorize")) == 2


async def test_C07_contract_a_revoked_chain_is_refused_without_authorize(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """M06 used when authorizing: an OCSP response saying revoked refuses the contract at once."""
    csms.behaviour.pnc.revoked_serials.add("4d5e6f")
    sut = await pnc_station(make_station, csms, module)
    await present(sut, module, EMAID)
    assert not await answered(module)
    assert csms.received("Authorize") == []
    assert sut.d.station.pnc.last_verdict[1].certificate_status == "CertificateRevoked"


async def test_C07_contract_ocsp_status_failed_is_not_cached_and_the_csms_decides(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """M06: GetCertificateStatus answered Failed leaves the chain unchecked (nothing cached, asked again next
    time); the CSMS's answer to the Authorize decides."""
    csms.respond("GetCertificateStatus", {"status": "Failed"})
    sut = await pnc_station(make_station, csms, module)
    await present(sut, module, EMAID)
    assert await answered(module)
    assert len(csms.received("GetCertificateStatus")) == 2
    await module.stop_session()
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    await present(sut, module, EMAID)
    assert await answered(module, 2)
    assert len(csms.received("GetCertificateStatus")) == 4


async def test_pnc_disabled_leaves_the_contract_unanswered(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """ISO15118Ctrlr.PnCEnabled false: no Authorize for the contract and no refusal to the module either (a
    refusal would end the session the driver may still authorize with a card, C08)."""
    sut = await pnc_station(make_station, csms, module, **{"ISO15118Ctrlr[1].PnCEnabled": False})
    await present(sut, module, EMAID)
    await settle()
    assert csms.received("Authorize") == []
    assert module.authorizations == []


async def test_C08_eim_card_authorizes_the_iso15118_session(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C08: an EV in an ISO 15118 session without a contract; the driver's card is authorized as in basic
    charging, and the module is told the session may charge."""
    sut = await pnc_station(make_station, csms, module)
    sut.d.board.plug(1)
    await module.start_session(EVCC_ID)
    sut.d.board.swipe(1, VALID)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == token(VALID)
    assert await answered(module)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))


async def test_TC_C_54_CS_offline_contract_validation_allowed_starts_on_the_cache(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C07 offline, ContractValidationOffline true: the contract is judged on local data; an eMAID Accepted
    in the Authorization Cache starts (LocalAuthorizeOffline), with its chain's cached OCSP status good."""
    sut = await pnc_station(make_station, csms, module, **{"ISO15118Ctrlr[1].ContractValidationOffline": True})
    await present(sut, module, EMAID)  # online first: the answer and the OCSP status are cached
    assert await answered(module)
    await module.stop_session()
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    port = await go_offline(csms, sut)
    await present(sut, module, EMAID)
    assert await answered(module, 2)
    await back_online(csms, port)
    replayed = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["triggerReason"] == "Authorized" and p.get("offline"), timeout=15
    )
    assert replayed["idToken"] == emaid_token()


async def test_TC_C_55_CS_offline_contract_validation_not_allowed_refuses(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C07 offline, ContractValidationOffline false: the contract is refused offline even though its eMAID is
    Accepted in the cache and LocalAuthorizeOffline is true."""
    sut = await pnc_station(make_station, csms, module, **{"ISO15118Ctrlr[1].ContractValidationOffline": False})
    await present(sut, module, EMAID)
    assert await answered(module)
    await module.stop_session()
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    await go_offline(csms, sut)
    await present(sut, module, EMAID)
    assert not await answered(module, 2)
    assert sut.d.station.pnc.last_verdict[1].reason == "offline and ContractValidationOffline is false"


async def test_offline_unknown_emaid_follows_offline_tx_for_unknown_id(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C07 offline with ContractValidationOffline true, an eMAID nobody knows: refused unless
    AuthCtrlr.OfflineTxForUnknownIdEnabled (the AuthCtrlr rules apply to the eMAID like any token)."""
    sut = await pnc_station(
        make_station,
        csms,
        module,
        **{"ISO15118Ctrlr[1].ContractValidationOffline": True, "AuthCtrlr.OfflineTxForUnknownIdEnabled": True},
    )
    await go_offline(csms, sut)
    await present(sut, module, UNKNOWN_EMAID)
    assert await answered(module)
    sut.d.station.dm.set_station_value("AuthCtrlr", "OfflineTxForUnknownIdEnabled", False)
    await module.stop_session()
    sut.d.board.unplug(1)
    await present(sut, module, UNKNOWN_EMAID)
    assert not await answered(module, 2)


async def test_C08_a_contract_after_the_card_changes_nothing(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C08: the driver identified with a card first; a contract the EV offers afterwards is not authorized
    again (no Authorize for the eMAID): the session stays the card's, and the module may charge."""
    sut = await pnc_station(make_station, csms, module)
    sut.d.board.plug(1)
    await module.start_session(EVCC_ID)
    sut.d.board.swipe(1, VALID)
    assert await answered(module)
    await module.present_contract(EMAID, CHAIN)
    assert await answered(module, 2)
    assert [a["idToken"]["type"] for a in csms.received("Authorize")] == ["ISO14443"]


async def test_C08_eim_by_app_remote_start_authorizes_the_iso15118_session(
    csms: DevCsms, make_station: Any, module: EmulatedSecc
) -> None:
    """C08 with an app: the CSMS starts the session remotely (RequestStartTransaction); the EV waiting in its
    ISO 15118 session is told it may charge, as with a card."""
    sut = await pnc_station(make_station, csms, module)
    sut.d.board.plug(1)
    await module.start_session(EVCC_ID)
    request = call.RequestStartTransaction(
        id_token={"id_token": VALID, "type": "ISO14443"}, remote_start_id=7, evse_id=1
    )
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    assert await answered(module)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
