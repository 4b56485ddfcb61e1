"""Board-YAML parameters of the RFID readers, through the registry as the daemon sees them."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.errors import DriverError
from drivers.interfaces import RfidReader
from drivers.registry import load_driver, validate_params
from drivers.rfid.pn532 import Pn532I2cReader, Pn532UartReader
from drivers.rfid.serial_uid import SerialUidReader


def test_entry_points_name_the_reader_classes() -> None:
    assert load_driver("rfid", "pn532_i2c") is Pn532I2cReader
    assert load_driver("rfid", "pn532_uart") is Pn532UartReader
    assert load_driver("rfid", "serial_uid") is SerialUidReader


def test_defaults() -> None:
    i2c = validate_params("rfid", "pn532_i2c", {}).model_dump()
    assert i2c == {
        "bus": 1,
        "address": 0x24,
        "poll_interval_ms": 200,
        "absent_polls": 2,
        "timeout_ms": 500,
        "retry_interval_ms": 5000,
    }
    uart = validate_params("rfid", "pn532_uart", {"port": "/dev/ttyUSB0"}).model_dump()
    assert uart["baudrate"] == 115200 and uart["poll_interval_ms"] == 200
    uid = validate_params("rfid", "serial_uid", {"port": "/dev/ttyACM0"}).model_dump()
    assert (uid["baudrate"], uid["format"], uid["byte_order"], uid["dedupe_ms"]) == (9600, "hex", "msb_first", 1000)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("pn532_i2c", {"bus": 0, "address": 0x48 >> 1}),
        ("pn532_uart", {"port": "/dev/ttyS0", "baudrate": 921600}),
        ("serial_uid", {"port": "/dev/ttyUSB1", "format": "decimal", "byte_order": "lsb_first", "dedupe_ms": 0}),
    ],
)
def test_the_daemon_constructs_each_reader_from_its_params_without_io(name: str, params: dict[str, Any]) -> None:
    cls = load_driver("rfid", name)
    reader = cls(evse_id=2, **validate_params("rfid", name, params).model_dump())
    assert isinstance(reader, RfidReader)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "pn532_i2c",
            {"address": 0x80},
            "rfid.pn532_i2c: parameter 'address': Input should be less than or equal to 119",
        ),
        ("pn532_i2c", {"bus": -1}, "rfid.pn532_i2c: parameter 'bus': Input should be greater than or equal to 0"),
        ("pn532_i2c", {"port": "/dev/ttyUSB0"}, "rfid.pn532_i2c: parameter 'port': Extra inputs are not permitted"),
        ("pn532_i2c", {"poll_interval_ms": 1}, "parameter 'poll_interval_ms': Input should be greater than or equal"),
        ("pn532_i2c", {"absent_polls": 0}, "parameter 'absent_polls': Input should be greater than or equal to 1"),
        ("pn532_uart", {}, "rfid.pn532_uart: parameter 'port': Field required"),
        ("pn532_uart", {"port": ""}, "parameter 'port': String should have at least 1 character"),
        ("pn532_uart", {"port": "/dev/ttyS0", "baudrate": 9601}, "parameter 'baudrate': Input should be 9600, 19200"),
        (
            "serial_uid",
            {"port": "/dev/ttyS0", "format": "octal"},
            "parameter 'format': Input should be 'hex', 'decimal' or 'pin'",
        ),
        ("serial_uid", {"port": "/dev/ttyS0", "dedupe_ms": -5}, "parameter 'dedupe_ms': Input should be greater than"),
        ("serial_uid", {"port": "/dev/ttyS0", "byte_order": "reversed"}, "parameter 'byte_order': Input should be"),
    ],
)
def test_bad_params_are_refused_in_one_line(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError) as info:
        validate_params("rfid", name, params)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
