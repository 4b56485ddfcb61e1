"""The EMS register map v1 (docs/ems-modbus.md): addresses, scaling, and the writes it refuses."""

from __future__ import annotations

import pytest

from evse.smartcharging import ems_registers as regs

EVSES = (1, 2)


def test_addresses_are_located_in_the_station_block_and_each_evse_block() -> None:
    assert regs.locate(0, EVSES) == (0, 0)
    assert regs.locate(2, EVSES) == (0, regs.Station.CURRENT_LIMIT)
    assert regs.locate(208, EVSES) == (2, regs.Evse.CURRENT_LIMIT)


@pytest.mark.parametrize("address", [10, 99, 111, 300, 65535])
def test_an_address_outside_the_map_is_an_illegal_address(address: int) -> None:
    with pytest.raises(regs.RegisterError) as refused:
        regs.locate(address, EVSES)
    assert refused.value.code == regs.ILLEGAL_ADDRESS


@pytest.mark.parametrize(
    ("address", "count"),
    [
        (regs.Station.MAP_VERSION, 1),  # read only
        (100 + regs.Evse.OFFERED_CURRENT, 1),  # read only
        (100 + regs.Evse.CURRENT_LIMIT, 4),  # runs past the EVSE block's last register
        (regs.Station.POWER_LIMIT, 1),  # the high half of a 32-bit value alone
        (regs.Station.POWER_LIMIT + 1, 1),  # the low half alone
        (100 + regs.Evse.POWER_LIMIT + 1, 1),
    ],
)
def test_writes_to_read_only_registers_or_half_a_32_bit_value_are_refused(address: int, count: int) -> None:
    with pytest.raises(regs.RegisterError) as refused:
        regs.check_write(address, count, EVSES)
    assert refused.value.code == regs.ILLEGAL_ADDRESS


@pytest.mark.parametrize(
    ("address", "count"),
    [
        (regs.Station.CURRENT_LIMIT, 1),
        (regs.Station.CURRENT_LIMIT, 3),  # current and power at once
        (regs.Station.FAILSAFE_CURRENT, 2),
        (200 + regs.Evse.CURRENT_LIMIT, 3),
    ],
)
def test_writes_to_the_limit_and_setting_registers_are_accepted(address: int, count: int) -> None:
    regs.check_write(address, count, EVSES)


def test_current_is_in_tenths_of_an_ampere_and_0xffff_is_no_limit() -> None:
    assert regs.current_limit(160) == 16.0
    assert regs.current_limit(0) == 0.0
    assert regs.current_limit(regs.NO_LIMIT_16) is None
    assert regs.deciamps(16.04) == 160
    assert regs.deciamps(None) == regs.NO_LIMIT_16


def test_a_current_above_1000_a_is_an_illegal_value() -> None:
    with pytest.raises(regs.RegisterError) as refused:
        regs.current_limit(10_001)
    assert refused.value.code == regs.ILLEGAL_VALUE


def test_power_is_32_bit_watts_high_word_first_and_all_ones_is_no_limit() -> None:
    assert regs.watts32(70_000) == (1, 70_000 - 65_536)
    assert regs.power_limit(1, 70_000 - 65_536) == 70_000
    assert regs.power_limit(0xFFFF, 0xFFFF) is None
    assert regs.watts32(None) == (0xFFFF, 0xFFFF)


def test_the_failsafe_current_cannot_exceed_what_the_evses_can_offer() -> None:
    assert regs.failsafe_current(60, max_a=32) == 6.0
    with pytest.raises(regs.RegisterError) as refused:
        regs.failsafe_current(321, max_a=32)
    assert refused.value.code == regs.ILLEGAL_VALUE


def test_the_evse_block_shows_status_offer_power_energy_and_the_written_limit() -> None:
    reading = regs.EvseReading(
        connector_status="Occupied",
        pilot_state="C",
        charging_state="Charging",
        offered_a=16.0,
        power_w=11_040.0,
        energy_wh=123_456.0,
    )
    values = regs.evse_values(reading, regs.Limit(amps=16.0))
    assert len(values) == regs.EVSE_REGISTERS
    assert values[regs.Evse.CONNECTOR_STATUS] == regs.CONNECTOR_STATUS["Occupied"]
    assert values[regs.Evse.PILOT_STATE] == 3
    assert values[regs.Evse.CHARGING_STATE] == regs.CHARGING_STATE["Charging"]
    assert values[regs.Evse.OFFERED_CURRENT] == 160
    assert regs.join32(*values[regs.Evse.ACTIVE_POWER : regs.Evse.ACTIVE_POWER + 2]) == 11_040
    assert regs.join32(*values[regs.Evse.ENERGY : regs.Evse.ENERGY + 2]) == 123_456
    assert values[regs.Evse.CURRENT_LIMIT] == 160
    assert values[regs.Evse.POWER_LIMIT : regs.Evse.POWER_LIMIT + 2] == [0xFFFF, 0xFFFF]


def test_the_station_block_shows_the_map_version_settings_and_status_flags() -> None:
    reading = regs.StationReading(
        evse_count=2,
        failsafe_a=6.0,
        timeout_s=60,
        failsafe_active=True,
        grid_limit_active=True,
        seconds_since_write=70_000,
    )
    values = regs.station_values(reading, regs.Limit(watts=11_000))
    assert len(values) == regs.STATION_REGISTERS
    assert values[regs.Station.MAP_VERSION] == regs.MAP_VERSION
    assert values[regs.Station.EVSE_COUNT] == 2
    assert values[regs.Station.CURRENT_LIMIT] == regs.NO_LIMIT_16
    assert regs.join32(*values[regs.Station.POWER_LIMIT : regs.Station.POWER_LIMIT + 2]) == 11_000
    assert values[regs.Station.FAILSAFE_CURRENT] == 60
    assert values[regs.Station.COMM_TIMEOUT] == 60
    assert values[regs.Station.STATUS_FLAGS] == regs.STATUS_FAILSAFE | regs.STATUS_GRID_LIMIT
    assert values[regs.Station.SECONDS_SINCE_WRITE] == 0xFFFF  # saturates
