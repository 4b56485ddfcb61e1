"""The security profile of each connection attempt of a 1.6 station (whitepaper A05, 1.6 flavour), on a real
device model in a SQLite file: the raised profile first, the fallback after NetworkProfileConnectionAttempts,
never below the profile in use."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.store import DeviceModelStore
from evse.ocpp.v16.security_upgrade import SecurityProfileUpgrade, url_for
from evse.storage import open_database

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
URL = "ws://csms.example:9000/ocpp"


def device_model(state_dir: Path, in_use: int = 1, attempts: int = 2) -> DeviceModel:
    dm = DeviceModel(
        load_definitions(CONFIG_DIR, [(1, [1])]),
        store=DeviceModelStore(open_database(state_dir)),
        overrides={"OCPPCommCtrlr.NetworkProfileConnectionAttempts": attempts},
    )
    dm.set_station_value("SecurityCtrlr", "SecurityProfile", in_use)
    return dm


@pytest.mark.parametrize(
    ("url", "profile", "expected"),
    [
        (URL, 1, URL),
        (URL, 2, "wss://csms.example:9000/ocpp"),
        (URL, 3, "wss://csms.example:9000/ocpp"),
        ("wss://csms.example/ocpp", 2, "wss://csms.example/ocpp"),
    ],
)
def test_profiles_2_and_3_use_tls_on_the_same_address(url: str, profile: int, expected: str) -> None:
    assert url_for(url, profile) == expected


def test_the_raised_profile_is_tried_then_given_up_for_the_one_in_use(tmp_path: Path) -> None:
    """A05.FR.08: NetworkProfileConnectionAttempts attempts with the new profile, then back to the old one."""
    upgrade = SecurityProfileUpgrade(device_model(tmp_path, in_use=1, attempts=2))
    assert upgrade.endpoint(URL, 1) == (URL, 1)
    upgrade.request(2)
    assert upgrade.endpoint(URL, 1) == ("wss://csms.example:9000/ocpp", 2)
    assert upgrade.endpoint(URL, 1) == ("wss://csms.example:9000/ocpp", 2)
    assert upgrade.endpoint(URL, 1) == (URL, 1)
    assert upgrade.pending is None


def test_once_recorded_the_raised_profile_is_kept_over_the_configured_one(tmp_path: Path) -> None:
    """After a connection came up with profile 2 (SecurityProfile = 2), the YAML's profile 1 is not used."""
    dm = device_model(tmp_path, in_use=1)
    upgrade = SecurityProfileUpgrade(dm)
    upgrade.request(2)
    upgrade.endpoint(URL, 1)
    dm.set_station_value("SecurityCtrlr", "SecurityProfile", 2)  # what network_slots.connected() records
    assert upgrade.endpoint(URL, 1) == ("wss://csms.example:9000/ocpp", 2)
    assert upgrade.pending is None
    assert SecurityProfileUpgrade(dm).endpoint(URL, 1) == ("wss://csms.example:9000/ocpp", 2)  # after a restart
