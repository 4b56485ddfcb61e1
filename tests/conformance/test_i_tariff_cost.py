"""OCTT block I (OCPP 2.0.1 part), tariff and cost: I01 the tariff at authorization, I02 the running cost,
I03 the total cost at the end, I04/I05 the fallback messages, I06 a tariff update during the transaction.
The CSMS computes every cost; the station shows it on the driver's screen in TariffCostCtrlr.Currency."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.display import redrawn, screen, shows
from tests.conformance.octt import (
    VALID,
    VALID2,
    authorize_answers,
    back_online,
    cache,
    energy_transfer_started,
    go_offline,
    info,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.integration.conftest import STATION_ID, StationUnderTest

Payload = dict[str, Any]
TARIFF = {"format": "UTF8", "content": "0.35 EUR/kWh"}


def answers(csms: DevCsms, *, updated: Payload | None = None, ended: Payload | None = None) -> None:
    """Script the TransactionEventResponses: ``updated`` for Started/Updated, ``ended`` for Ended."""

    def respond(payload: Payload) -> Payload:
        body = dict(ended or {}) if payload["eventType"] == "Ended" else dict(updated or {})
        if "idToken" in payload:
            body["idTokenInfo"] = info("Accepted")
        return body

    csms.respond("TransactionEvent", respond)


async def session_ended(sut: StationUnderTest, csms: DevCsms) -> Payload:
    sut.d.board.unplug(1)
    return await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)


async def test_TC_I_01_CS_running_cost_from_cost_updated(station: StationUnderTest, csms: DevCsms) -> None:
    """I02.FR.01: CostUpdated during charging: the running cost is shown, in TariffCostCtrlr.Currency."""
    started = await energy_transfer_started(station, csms)
    tx_id = started["transactionInfo"]["transactionId"]
    await csms.call(STATION_ID, call.CostUpdated(total_cost=1.23, transaction_id=tx_id))
    await shows(station, "Cost 1.23 EUR")
    await csms.call(STATION_ID, call.CostUpdated(total_cost=2.5, transaction_id=tx_id))
    await shows(station, "Cost 2.50 EUR")


async def test_TC_I_07_CS_running_cost_from_transaction_event_response(
    station: StationUnderTest, csms: DevCsms
) -> None:
    """I02: a totalCost in the answer to a TransactionEvent during charging is the running cost."""
    answers(csms, updated={"totalCost": 0.87})
    await energy_transfer_started(station, csms)
    await shows(station, "Cost 0.87 EUR")
    assert "Charging" in screen(station)


async def test_TC_I_02_CS_final_total_cost_after_charging(station: StationUnderTest, csms: DevCsms) -> None:
    """I03.FR.01: the totalCost of the answer to Ended is shown as the session's total."""
    answers(csms, updated={"totalCost": 1.0}, ended={"totalCost": 4.56})
    await energy_transfer_started(station, csms)
    await session_ended(station, csms)
    await shows(station, "Total 4.56 EUR")
    assert "Charging done" in screen(station)


async def test_I01_tariff_personal_message_at_authorization(station: StationUnderTest, csms: DevCsms) -> None:
    """I01.FR.01: the personalMessage of the idTokenInfo (the driver's tariff) is shown at authorization,
    and stays during the transaction."""
    authorize_answers(csms, {VALID: info("Accepted", personalMessage=TARIFF)})
    station.d.board.swipe(1, VALID)
    await shows(station, "0.35 EUR/kWh")
    station.d.board.plug(1)
    station.d.board.set_ev_state(1, "C")
    await until(lambda: station.d.board.contactor(1).is_closed)
    await shows(station, "Charging")
    assert "0.35 EUR/kWh" in screen(station)


async def test_I04_tariff_fallback_message_offline(station: StationUnderTest, csms: DevCsms) -> None:
    """I04.FR.01: offline, an accepted (cached) token gets TariffFallbackMessage, the tariff being unknown."""
    cache(station, VALID, "Accepted")
    set_fallback = call.SetVariables(
        set_variable_data=[
            {
                "attribute_value": "Price list at the pole",
                "component": {"name": "TariffCostCtrlr"},
                "variable": {"name": "TariffFallbackMessage"},
            }
        ]
    )
    assert (await csms.call(STATION_ID, set_fallback)).set_variable_result[0]["attribute_status"] == "Accepted"
    port = await go_offline(csms, station)
    station.d.board.swipe(1, VALID)
    await shows(station, "Price list at the pole")
    await back_online(csms, port)


async def test_I04_tariff_fallback_message_when_the_csms_sends_none(station: StationUnderTest, csms: DevCsms) -> None:
    """I04: online, an Accepted without personalMessage: the fallback is shown too."""
    station.d.board.swipe(1, VALID)
    await shows(station, "Tariff: see the price list")


async def test_I05_total_cost_fallback_when_the_csms_sends_no_cost(station: StationUnderTest, csms: DevCsms) -> None:
    """I05.FR.01: the answer to Ended carries no totalCost: TotalCostFallbackMessage is shown."""
    answers(csms)
    await energy_transfer_started(station, csms)
    await session_ended(station, csms)
    await shows(station, "Your invoice will follow")


async def test_I05_total_cost_fallback_offline_then_the_cost(station: StationUnderTest, csms: DevCsms) -> None:
    """I05.FR.02: the transaction ends offline: the fallback is shown; the total cost replaces it once the
    queued Ended is answered after the reconnect."""
    answers(csms, ended={"totalCost": 3.21})
    await energy_transfer_started(station, csms)
    port = await go_offline(csms, station)
    station.d.board.unplug(1)
    await shows(station, "Your invoice will follow")
    await back_online(csms, port)
    await shows(station, "Total 3.21 EUR")


async def test_I06_tariff_update_during_the_transaction(station: StationUnderTest, csms: DevCsms) -> None:
    """I06.FR.01: an updatedPersonalMessage in a TransactionEventResponse replaces the tariff shown."""
    authorize_answers(csms, {VALID: info("Accepted", personalMessage=TARIFF)})
    await energy_transfer_started(station, csms)
    await shows(station, "0.35 EUR/kWh")
    answers(csms, updated={"updatedPersonalMessage": {"format": "UTF8", "content": "Night rate 0.20/kWh"}})
    meter = call.SetVariables(
        set_variable_data=[
            {
                "attribute_value": "1",
                "component": {"name": "SampledDataCtrlr"},
                "variable": {"name": "TxUpdatedInterval"},
            }
        ]
    )
    await csms.call(STATION_ID, meter)  # an Updated soon, whose answer brings the new tariff
    await shows(station, "Night rate 0.20/kWh")
    assert "0.35 EUR/kWh" not in screen(station)


async def test_cost_in_the_configured_currency_and_not_when_disabled(station: StationUnderTest, csms: DevCsms) -> None:
    """TariffCostCtrlr.Currency names the currency; Enabled[Cost] false shows no cost at all."""
    started = await energy_transfer_started(station, csms)
    tx_id = started["transactionInfo"]["transactionId"]

    def set_variable(variable: Payload, value: str) -> Any:
        data = [{"attribute_value": value, "component": {"name": "TariffCostCtrlr"}, "variable": variable}]
        return csms.call(STATION_ID, call.SetVariables(set_variable_data=data))

    await set_variable({"name": "Currency"}, "SEK")
    await csms.call(STATION_ID, call.CostUpdated(total_cost=12.0, transaction_id=tx_id))
    await shows(station, "Cost 12.00 SEK")
    await set_variable({"name": "Enabled", "instance": "Cost"}, "false")
    assert "Cost" not in await redrawn(station)


async def test_the_next_driver_never_sees_the_last_ones_tariff_or_cost(
    station: StationUnderTest, csms: DevCsms
) -> None:
    """A session's tariff and total cost belong to it: the next transaction starts with neither."""
    authorize_answers(csms, {VALID: info("Accepted", personalMessage=TARIFF)})
    started = await energy_transfer_started(station, csms)
    await csms.call(
        STATION_ID, call.CostUpdated(total_cost=9.99, transaction_id=started["transactionInfo"]["transactionId"])
    )
    await shows(station, "Cost 9.99 EUR")
    await session_ended(station, csms)
    await shows(station, "Charging done")
    await energy_transfer_started(station, csms, value=VALID2)
    await shows(station, "Tariff: see the price list")  # VALID2's answer has no personalMessage: the fallback
    assert "0.35 EUR/kWh" not in screen(station) and "9.99" not in screen(station)
