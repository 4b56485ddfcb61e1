"""What `evse check-config` says about a configuration file, as lines: the CLI prints them, the web page shows
each next to the YAML line it names. One function, so both say exactly the same thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from evse.errors import ConfigError

if TYPE_CHECKING:
    from evse.config import Settings
    from evse.devicemodel.model import DeviceModel


@dataclass
class ConfigCheck:
    """The verdict on one file: its settings when they parse, and every one-line error (none: valid)."""

    settings: Settings | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.settings is not None and not self.errors


def check_device_model(settings: Settings, origin: Path) -> DeviceModel:
    """Validate the device_model overrides against the definitions, and the preconfigured monitors against
    the result, without touching state_dir; the model, for commands that read it."""
    from evse.daemon import DEFINITIONS_DIR
    from evse.devicemodel.model import DeviceModel
    from evse.devicemodel.preconfigured_monitors import load_preconfigured, preconfigured_file

    model = DeviceModel.open(
        DEFINITIONS_DIR,
        settings.layout,
        None,
        overrides=settings.device_model,
        identity=settings,
        override_origin=str(origin),
    )
    load_preconfigured(preconfigured_file(DEFINITIONS_DIR), model, [evse.id for evse in settings.evses])
    return model


def check_config(path: Path, text: str | None = None) -> ConfigCheck:
    """Check the file at `path`, or `text` as if it were that file (an upload, before it replaces it).

    A ConfigError of the device model ends the check like it ends `evse check-config`; any other EvseError
    is raised, as the CLI lets it through (exit 1)."""
    from evse.config import load_settings, settings_from_text
    from evse.firmware.check import firmware_problems
    from evse.security.tls_files import check_tls_files

    try:
        settings = load_settings(path) if text is None else settings_from_text(text, path)
        check_device_model(settings, path)
    except ConfigError as exc:
        return ConfigCheck(errors=[str(exc)])
    # Every TLS problem, one line each: a technician fixing certificates wants the whole list at once.
    problems = check_tls_files(settings.csms, settings.station.id, datetime.now(UTC), settings.state_dir)
    errors = [problem.line(str(path)) for problem in problems]
    errors += [f"{path}: {line}" for line in firmware_problems(settings)]
    return ConfigCheck(settings, errors)
