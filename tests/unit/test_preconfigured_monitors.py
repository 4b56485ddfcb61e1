"""The firmware's preconfigured monitors (config/preconfigured_monitors.yaml): instantiated per EVSE with
ids that do not move, and a bad file stopped at start-up with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.daemon import DEFINITIONS_DIR
from evse.devicemodel.definitions import ComponentKey
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.monitoring import PRECONFIGURED_ID_BASE, MonitorKind, MonitorType
from evse.devicemodel.preconfigured_monitors import load_preconfigured, preconfigured_file
from evse.errors import DeviceModelError

LAYOUT = [(1, [1]), (2, [1, 2])]


@pytest.fixture(scope="module")
def model() -> DeviceModel:
    return DeviceModel.open(DEFINITIONS_DIR, LAYOUT, None)


def test_shipped_file_gives_each_evse_its_monitors(model: DeviceModel) -> None:
    monitors = load_preconfigured(preconfigured_file(DEFINITIONS_DIR), model, [1, 2])
    assert monitors, "the shipped file defines preconfigured monitors"
    assert all(m.kind is MonitorKind.PRECONFIGURED for m, _ in monitors)
    ids = [m.id for m, _ in monitors]
    assert len(set(ids)) == len(ids)
    upper = [m for m, _ in monitors if m.type is MonitorType.UPPER_THRESHOLD and m.variable.name == "ACVoltage"]
    assert [(m.id, m.component) for m in upper] == [
        (PRECONFIGURED_ID_BASE + 1, ComponentKey("EVSE", evse_id=1)),
        (PRECONFIGURED_ID_BASE + 2, ComponentKey("EVSE", evse_id=2)),
    ]


def test_missing_file_means_none(model: DeviceModel, tmp_path: Path) -> None:
    assert load_preconfigured(tmp_path / "absent.yaml", model, [1]) == []


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("monitors: [{component: EVSE, scope: evse, variable: Warp, type: Delta, value: 1, severity: 1}]", "Warp"),
        ("monitors: [{component: EVSE, variable: Power, type: Delta, value: 1, severity: 12}]", "severity"),
        ("monitors: [{component: EVSE, scope: evse, variable: Power, type: Sideways, value: 1, severity: 1}]", "type"),
    ],
)
def test_bad_entries_name_the_file(model: DeviceModel, tmp_path: Path, body: str, complaint: str) -> None:
    path = tmp_path / "preconfigured_monitors.yaml"
    path.write_text(body)
    with pytest.raises(DeviceModelError) as error:
        load_preconfigured(path, model, [1, 2])
    assert str(path) in str(error.value) and complaint in str(error.value)
