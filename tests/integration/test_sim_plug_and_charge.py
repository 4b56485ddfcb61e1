"""Section 3 of issue 12: the simulated Plug & Charge EV (`evse sim iso15118`) against the dev CSMS, driven
through the daemon's control socket as `make run` users drive it; and its certificate option, which lets the
CSMS validate the contract centrally (TC_C_52/53: ISO15118Ctrlr.CentralContractValidationAllowed)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from drivers.sim.iso15118 import hash_data_of_chain
from evse import control
from evse.devcsms.server import DevCsms
from evse.errors import ControlError
from tests.cert_factory import hash_data_fields, make_certificate, reference_hash_data
from tests.conformance.octt import contactor_closed, tx, until
from tests.integration.conftest import StationUnderTest

EMAID = "DE8EOCAET5E43X1"


async def sim(sut: StationUnderTest, cmd: str, **fields: Any) -> dict[str, Any]:
    """One `evse sim <cmd> 1 ...` over the control socket (the CLI's blocking client, in a thread)."""
    request = {"cmd": f"sim.{cmd}", "evse": 1, **fields}
    return await asyncio.to_thread(control.request, sut.settings.socket_path, request)


async def sim_iso15118(sut: StationUnderTest) -> dict[str, Any]:
    answer: dict[str, Any] = (await sim(sut, "status"))["sim"]["iso15118"]
    return answer


async def test_a_simulated_pnc_ev_charges_with_its_emaid(csms: DevCsms, make_station: Any) -> None:
    """The newcomer's demo: one command, and the EV authorizes by its contract and charges."""
    sut: StationUnderTest = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    await sim(sut, "iso15118", emaid=EMAID, energy_wh=20000, departure_s=3600)
    request = await csms.wait_for("Authorize", timeout=5)
    assert request["idToken"] == {"idToken": EMAID, "type": "eMAID"}
    assert len(request["iso15118CertificateHashData"]) == 2  # the made-up chain: contract and sub-CA
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == {"idToken": EMAID, "type": "eMAID"}
    await until(contactor_closed(sut))  # the EV asked for power once authorized (state C)
    assert (await sim_iso15118(sut))["authorizations"] == [True]
    await sim(sut, "unplug")
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == authorized["transactionInfo"]["transactionId"]
    assert (await sim(sut, "status"))["sim"]["iso15118"] is None


async def test_the_simulated_ev_ends_its_session_E15(csms: DevCsms, make_station: Any) -> None:
    """`evse sim iso15118 1 --stop`: the EV stops drawing and ends its session (SessionStop Terminate): the
    authorization ends, StopAuthorized with stoppedReason StoppedByEV, the contactor opens while the cable
    is still in; without a session the command fails with a one-line reason."""
    sut: StationUnderTest = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    await sim(sut, "iso15118", emaid=EMAID)
    await until(contactor_closed(sut))
    await sim(sut, "iso15118", stop=True)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "StoppedByEV")
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert not sut.d.board.contactor(1).is_closed and sut.d.board.evse_state(1).ev_state.value == "B"
    with pytest.raises(ControlError, match="no ISO 15118 session on EVSE 1"):
        await sim(sut, "iso15118", stop=True)


async def test_an_unknown_contract_is_refused_and_the_ev_gives_up(csms: DevCsms, make_station: Any) -> None:
    sut: StationUnderTest = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    await sim(sut, "iso15118", emaid="XX0000000000001")
    await csms.wait_for("Authorize", timeout=5)
    await until(lambda: sut.d.board.iso15118(1).session is None)  # DeAuthorized: the session ended
    assert not sut.d.board.contactor(1).is_closed


def test_the_sim_ev_computes_the_hash_data_an_ocsp_client_would() -> None:
    """The simulated EV's iso15118CertificateHashData equals the CertID of the library's OCSP request."""
    root = make_certificate("MO Root")
    sub = make_certificate("MO Sub-CA", issuer=root)
    leaf = make_certificate("DE8EOCAET5E43X1", ca=False, issuer=sub)
    entries = hash_data_of_chain(leaf.pem + sub.pem + root.pem)
    reference = [
        reference_hash_data(leaf.certificate, sub.certificate),
        reference_hash_data(sub.certificate, root.certificate),
    ]
    got = [hash_data_fields(e) for e in entries]
    assert got == reference


async def test_TC_C_52_CS_central_contract_validation_sends_the_certificate(csms: DevCsms, make_station: Any) -> None:
    """C07 with CentralContractValidationAllowed: a contract the station cannot have checked by OCSP (a lone
    leaf, no issuer to name) goes to the CSMS with its certificate; the CSMS's Accepted lets it charge."""
    sut: StationUnderTest = await make_station(device_model={"ISO15118Ctrlr[1].CentralContractValidationAllowed": True})
    await csms.wait_for("StatusNotification", timeout=10)
    leaf = make_certificate(EMAID, ca=False, issuer=make_certificate("MO Sub-CA"))
    await sim(sut, "iso15118", emaid=EMAID, certificate=leaf.pem)
    request = await csms.wait_for("Authorize", timeout=5)
    assert request["certificate"] == leaf.pem
    assert "iso15118CertificateHashData" not in request
    await until(contactor_closed(sut))


async def test_TC_C_53_CS_central_contract_validation_fails(csms: DevCsms, make_station: Any) -> None:
    """C07: the CSMS finds the certificate expired (certificateStatus CertificateExpired): no charging."""
    sut: StationUnderTest = await make_station(device_model={"ISO15118Ctrlr[1].CentralContractValidationAllowed": True})
    await csms.wait_for("StatusNotification", timeout=10)
    csms.respond("Authorize", {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "CertificateExpired"})
    leaf = make_certificate(EMAID, ca=False, issuer=make_certificate("MO Sub-CA"))
    await sim(sut, "iso15118", emaid=EMAID, certificate=leaf.pem)
    assert (await csms.wait_for("Authorize", timeout=5))["certificate"] == leaf.pem
    await until(lambda: sut.d.board.iso15118(1).session is None)
    assert not sut.d.board.contactor(1).is_closed


async def test_without_central_validation_a_lone_certificate_is_not_sent(csms: DevCsms, make_station: Any) -> None:
    """CentralContractValidationAllowed false (the default): the certificate stays with the station; the
    dev CSMS has nothing to check the contract by and refuses it."""
    sut: StationUnderTest = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    leaf = make_certificate(EMAID, ca=False, issuer=make_certificate("MO Sub-CA"))
    await sim(sut, "iso15118", emaid=EMAID, certificate=leaf.pem)
    request = await csms.wait_for("Authorize", timeout=5)
    assert "certificate" not in request
    await until(lambda: sut.d.board.iso15118(1).session is None)
