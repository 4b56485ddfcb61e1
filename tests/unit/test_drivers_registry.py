"""The driver registry: entry points, unknown names, parameter validation; and driver errors."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from drivers import registry
from drivers.errors import DriverError, device_errors
from drivers.interfaces import DriverParams, iso14443_id_token
from drivers.registry import available, load_driver, params_model, validate_params
from drivers.sim import SimContactor, SimLock, SimMeter, SimPilot, SimRfidReader

SIM_DRIVERS: dict[str, Any] = {
    "meter": SimMeter,
    "contactor": SimContactor,
    "lock": SimLock,
    "pilot": SimPilot,
    "rfid": SimRfidReader,
}


@pytest.mark.parametrize(("kind", "cls"), SIM_DRIVERS.items())
def test_every_sim_driver_is_found_by_entry_point(kind: str, cls: Any) -> None:
    expected_params = cls.Params()
    assert load_driver(kind, "sim") is cls
    assert "sim" in available(kind)
    assert validate_params(kind, "sim", {}) == expected_params


def test_unknown_name_lists_the_available_ones_in_one_line() -> None:
    with pytest.raises(DriverError) as info:
        load_driver("meter", "sdm999")
    message = str(info.value)
    assert "'sdm999'" in message and "available: " in message and "sim" in message
    assert "\n" not in message


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(DriverError, match=r"unknown driver kind 'meters'; kinds: meter, contactor"):
        load_driver("meters", "sim")
    with pytest.raises(DriverError, match="meters"):
        available("meters")


def test_sim_params_refuse_unknown_keys_naming_them() -> None:
    with pytest.raises(DriverError) as info:
        validate_params("meter", "sim", {"port": "/dev/ttyUSB0"})
    assert str(info.value) == "meter.sim: parameter 'port': Extra inputs are not permitted"


# --- a third-party driver package, installed for the test through the entry-point seam ----------


class _Serial(DriverParams):
    port: str
    baudrate: int = Field(default=9600, gt=0)


class FakeMeter:
    class Params(DriverParams):
        serial: _Serial
        address: int = Field(ge=1, le=247)


class NoParams:
    pass


class LaxParams:
    class Params(BaseModel):
        model_config = ConfigDict(extra="ignore")


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("acme_vendor_drivers")
    module.FakeMeter = FakeMeter  # type: ignore[attr-defined]
    module.NoParams = NoParams  # type: ignore[attr-defined]
    module.LaxParams = LaxParams  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_vendor_drivers", module)
    real = list(registry._entry_points())

    def entry_points() -> Iterable[EntryPoint]:
        group = registry.GROUP
        return [
            *real,
            EntryPoint("meter.acme", "acme_vendor_drivers:FakeMeter", group),
            EntryPoint("meter.noparams", "acme_vendor_drivers:NoParams", group),
            EntryPoint("meter.lax", "acme_vendor_drivers:LaxParams", group),
            EntryPoint("meter.broken", "acme_vendor_drivers_missing:Meter", group),
            EntryPoint("nonsense", "acme_vendor_drivers:FakeMeter", group),  # no kind: ignored
        ]

    monkeypatch.setattr(registry, "_entry_points", entry_points)


@pytest.mark.usefixtures("vendor")
def test_third_party_drivers_are_listed_by_kind() -> None:
    assert {"acme", "broken", "lax", "noparams", "sim", "modbus"} <= set(available("meter"))
    assert available("meter") == sorted(available("meter"))
    assert {"sim", "gpio"} <= set(available("contactor"))
    assert load_driver("meter", "acme") is FakeMeter


@pytest.mark.usefixtures("vendor")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"serial": {"port": "/dev/ttyUSB0"}}, "meter.acme: parameter 'address': Field required"),
        (
            {"serial": {"port": "/dev/ttyUSB0", "baudrate": "fast"}, "address": 1},
            "meter.acme: parameter 'serial.baudrate': Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            {"serial": {"port": "/dev/ttyUSB0", "parity": "N"}, "address": 300},
            "meter.acme: parameter 'serial.parity': Extra inputs are not permitted (and 1 more)",
        ),
    ],
)
def test_params_errors_name_the_key_path(params: dict[str, object], expected: str) -> None:
    with pytest.raises(DriverError) as info:
        validate_params("meter", "acme", params)
    assert str(info.value) == expected


@pytest.mark.usefixtures("vendor")
def test_valid_params_come_back_as_the_drivers_model() -> None:
    params = validate_params("meter", "acme", {"serial": {"port": "/dev/ttyUSB0"}, "address": 3})
    assert isinstance(params, FakeMeter.Params)
    assert params.model_dump() == {"serial": {"port": "/dev/ttyUSB0", "baudrate": 9600}, "address": 3}


@pytest.mark.usefixtures("vendor")
def test_badly_packaged_drivers_are_driver_errors() -> None:
    with pytest.raises(DriverError, match=r"meter\.broken: cannot load .*ModuleNotFoundError"):
        load_driver("meter", "broken")
    with pytest.raises(DriverError, match=r"meter\.noparams: declares no Params model"):
        params_model("meter", "noparams")
    with pytest.raises(DriverError, match=r"meter\.lax: .*extra='forbid'"):
        validate_params("meter", "lax", {})


# --- errors and helpers -------------------------------------------------------------------------


def test_device_errors_turn_os_errors_into_driver_errors() -> None:
    with pytest.raises(DriverError) as info, device_errors("meter.acme /dev/ttyUSB0"):
        raise FileNotFoundError(2, "No such file or directory")
    assert str(info.value) == "meter.acme /dev/ttyUSB0: No such file or directory"
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(DriverError, match="timed out"), device_errors("meter.acme"):
        raise TimeoutError
    with pytest.raises(KeyError), device_errors("meter.acme"):  # only OS errors are translated
        raise KeyError("x")


def test_driver_error_survives_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(DriverError("sim meter evse=1", "no answer")))
    assert (error.device, str(error)) == ("sim meter evse=1", "sim meter evse=1: no answer")


def test_iso14443_id_token_from_uid_bytes_or_text() -> None:
    assert iso14443_id_token(bytes([0x04, 0xA2, 0xB3, 0xC4])) == "04A2B3C4"
    assert iso14443_id_token("04a2b3c4d5e6f7") == "04A2B3C4D5E6F7"
    with pytest.raises(ValueError, match="ISO 14443"):
        iso14443_id_token(b"\x01\x02\x03\x04\x05")
