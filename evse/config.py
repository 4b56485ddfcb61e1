"""The technician's YAML file, parsed into pydantic models.

Unknown keys are refused. Every error becomes ONE line naming the file, the key path and the problem,
so a technician on a serial console sees what to fix: `sim.yaml: evses[0].connectors[0].type: ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from evse.errors import ConfigError

# ConnectorEnumType of OCPP 2.0.1 Part 2 (the ConnectorType variable); not part of the JSON schemas.
CONNECTOR_TYPES = (
    "cCCS1", "cCCS2", "cG105", "cTesla", "cType1", "cType2", "s309-1P-16A", "s309-1P-32A", "s309-3P-16A",
    "s309-3P-32A", "sBS1361", "sCEE-7-7", "sType2", "sType3", "Other1PhMax16A", "Other1PhOver16A",
    "Other3Ph", "Pan", "wInductive", "wResonant", "Undetermined", "Unknown",
)  # fmt: skip


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StationSection(_Section):
    """Identity of the station; lengths are those of ChargingStationType in BootNotification."""

    # OCPP-J: the identity is part of the URL and the Basic-auth user name, so no ':' and URL-safe.
    id: str = Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9*\-_=+|@.]+$")
    vendor: str = Field(min_length=1, max_length=50)
    model: str = Field(min_length=1, max_length=20)
    serial: str | None = Field(default=None, max_length=25)
    firmware_version: str | None = Field(default=None, max_length=50)
    # Written by the installed image: when it exists, its first line is the version BootNotification
    # reports (it wins over firmware_version, which then names the factory image).
    firmware_version_file: Path | None = None


class CsmsSection(_Section):
    """Where the CSMS is and how to authenticate (OCPP 2.0.1 security profiles)."""

    url: str = Field(pattern=r"^wss?://[^\s]+$")
    security_profile: Literal[0, 1, 2, 3] = 1
    basic_auth_password: SecretStr | None = None
    # Profiles 2/3 (TLS): CA bundle to trust, and for profile 3 the station's client certificate.
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    # The largest websocket message accepted from the CSMS; a larger one is refused from its header
    # (close 1009) before its body is read. Keep it above every DeviceDataCtrlr/LocalAuthListCtrlr
    # BytesPerMessage, which only limit what a handler accepts once the message is in.
    max_frame_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)
    # The OCPP-J version this CSMS speaks: the websocket subprotocol offered and required, and which
    # adapter turns the station's messages into frames (issue 13). The journal and outbox are shared.
    ocpp_version: Literal["2.0.1", "1.6"] = "2.0.1"

    @field_validator("basic_auth_password")
    @classmethod
    def _password_length(cls, value: SecretStr | None) -> SecretStr | None:
        # SecurityCtrlr.BasicAuthPassword is a passwordString of at most 40 characters.
        if value is not None and not 1 <= len(value.get_secret_value()) <= 40:
            raise ValueError("must be 1 to 40 characters")
        return value

    @model_validator(mode="after")
    def _profile_needs(self) -> CsmsSection:
        if self.security_profile in (1, 2) and self.basic_auth_password is None:
            raise ValueError(f"security_profile {self.security_profile} needs basic_auth_password")
        if self.security_profile >= 2 and not self.url.startswith("wss://"):
            raise ValueError(f"security_profile {self.security_profile} needs a wss:// url")
        if self.security_profile <= 1 and self.url.startswith("wss://"):
            raise ValueError(f"security_profile {self.security_profile} needs a ws:// url")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        # Profile 3 without them needs a station certificate installed in state_dir (`evse certs install`,
        # or A02): checked at start-up, where state_dir can be looked at.
        return self


class ConnectorSection(_Section):
    id: int = Field(ge=1)
    type: str = "cType2"

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in CONNECTOR_TYPES:
            raise ValueError(f"unknown connector type {value!r} (one of {', '.join(CONNECTOR_TYPES)})")
        return value


class EvseSection(_Section):
    id: int = Field(ge=1)
    connectors: list[ConnectorSection] = Field(min_length=1)
    max_current_a: float = Field(default=32.0, ge=6, le=80)
    phases: Literal[1, 3] = 3

    @model_validator(mode="after")
    def _numbered(self) -> EvseSection:
        ids = [c.id for c in self.connectors]
        if ids != list(range(1, len(ids) + 1)):
            raise ValueError(f"connector ids must be 1..n in order, got {ids}")
        return self


class LoggingSection(_Section):
    """The diagnostics log file in state_dir (besides stderr/journald), uploaded by GetLog (N01).

    At most ``file_max_bytes * (file_count + 1)`` bytes on the card: the current file and ``file_count``
    rotated ones."""

    file_max_bytes: int = Field(default=1024 * 1024, ge=16 * 1024, le=256 * 1024 * 1024)
    file_count: int = Field(default=4, ge=1, le=100)


class FirmwareSection(_Section):
    """How UpdateFirmware (L01/L02) installs an image: the installer backend and its limits."""

    # sim: the simulated board's installer; command: a program given the image path (exit 0 = installed);
    # rauc / swupdate: their command-line tools (A/B slots are theirs to manage).
    installer: Literal["sim", "command", "rauc", "swupdate"] = "sim"
    command: list[str] | None = None
    # A download larger than this is refused (DownloadFailed) before it fills state_dir.
    max_image_bytes: int = Field(default=512 * 1024 * 1024, ge=1024, le=16 * 1024 * 1024 * 1024)
    # A ManufacturerRootCertificate (PEM) trusted besides those InstallCertificate installs.
    factory_root: Path | None = None
    # A 2.0.1 UpdateFirmware without signingCertificate and signature (L02, non-secure) is Rejected unless
    # this is true (OCTT TC_L_18_CS, mandatory for certification). 1.6's UpdateFirmware has no signature by
    # definition and is always run; its SignedUpdateFirmware always has one.
    allow_unsigned: bool = False

    @model_validator(mode="after")
    def _command_given(self) -> FirmwareSection:
        if self.installer == "command" and not self.command:
            raise ValueError("installer command needs command (the program and its arguments)")
        if self.installer != "command" and self.command:
            raise ValueError(f"command is only used by installer command, not {self.installer}")
        return self


class V2gOcspSection(_Section):
    """How often the OCSP responses of the ISO 15118 modules' V2G Sub-CA certificates are renewed (M06)."""

    update_interval_s: int = Field(default=7 * 24 * 3600, ge=60, le=90 * 24 * 3600)  # and before nextUpdate
    retry_interval_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)  # after the CSMS could not answer


class EmsModbusSection(_Section):
    """Where the Modbus TCP server for a local energy manager listens (docs/ems-modbus.md)."""

    host: str = Field(default="127.0.0.1", min_length=1)
    # 502 is the Modbus port, but binding below 1024 needs root; evcc and openWB let the port be set.
    port: int = Field(default=5020, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=1, le=247)  # 247: the highest Modbus unit (device) address


class EmsSection(_Section):
    """A local energy manager (EMS) limiting the station over Modbus TCP (K11-K13 source EMS).

    ``timeout_s`` without a write to the limit registers puts the failsafe current in force on every EVSE
    (0: never)."""

    modbus: EmsModbusSection = Field(default_factory=EmsModbusSection)
    failsafe_current_a: float = Field(default=6.0, ge=0, le=80)
    timeout_s: int = Field(default=60, ge=0, le=65535)


class GridLimitSection(_Section):
    """The grid operator's control contact (section 14a EnWG style): while the digital input named
    ``input`` is active, the whole station is capped to ``power_w`` (K11-K13 source SO, grid critical)."""

    input: str = Field(default="grid_limit", min_length=1, max_length=50)
    power_w: float = Field(default=4200.0, ge=0, le=1_000_000)


class SiteSection(_Section):
    """The supply the EVSEs share (K04 load balancing): a house connection or a feeder's fuse.

    Amperes per phase. Every EVSE counts as loading every phase, which is safe for a single-phase EVSE
    whatever phase it is wired to (and may leave it some capacity it could have had)."""

    max_current_a: float = Field(ge=6)


#: Addresses where the web page may be served without TLS: the password never leaves the device.
LOOPBACK_HOSTS = ("127.0.0.1", "::1")


class WebSection(_Section):
    """The technician's web page (evse/web): off unless enabled; its own password, never the CSMS's.

    HTTPS with a certificate the station makes itself on first start (kept in state_dir), or plain HTTP
    (``tls: false``) only on a loopback address, where the password cannot cross a network."""

    enabled: bool = False
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8443, ge=1, le=65535)
    password: SecretStr | None = None
    tls: bool = True

    @field_validator("password")
    @classmethod
    def _password_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 8 <= len(value.get_secret_value()) <= 128:
            raise ValueError("must be 8 to 128 characters")
        return value

    @model_validator(mode="after")
    def _safe(self) -> WebSection:
        if self.enabled and self.password is None:
            raise ValueError("enabled needs password (the technician's login)")
        if not self.tls and self.host not in LOOPBACK_HOSTS:
            raise ValueError(
                f"tls: false (plain HTTP) only on 127.0.0.1 or ::1, not {self.host}: the password would cross "
                "the network in clear"
            )
        return self


class Settings(_Section):
    """The whole station configuration."""

    station: StationSection
    csms: CsmsSection
    evses: list[EvseSection] = Field(min_length=1)
    board: Literal["sim"] | dict[str | int, Any] = "sim"  # see evse/board.py
    state_dir: Path = Path("/var/lib/evse")
    control_socket: Path | None = None
    device_model: dict[str, str | int | float | bool | list[str]] = Field(default_factory=dict)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    logging: LoggingSection = Field(default_factory=LoggingSection)
    # Messages kept for the CSMS during an outage; see evse/ocpp/outbox.py for what goes first when full.
    outbox_max_messages: int = Field(default=100_000, ge=100, le=10_000_000)
    firmware: FirmwareSection = Field(default_factory=FirmwareSection)
    v2g_ocsp: V2gOcspSection = Field(default_factory=V2gOcspSection)
    ems: EmsSection | None = None  # off unless configured: a Modbus server is a door into the station
    grid_limit: GridLimitSection = Field(default_factory=GridLimitSection)
    site: SiteSection | None = None  # no site section: no load balancing, each EVSE may use its maximum
    web: WebSection = Field(default_factory=WebSection)  # after csms: its password is compared with the CSMS's

    @field_validator("board")
    @classmethod
    def _board_drivers(cls, value: Any, info: ValidationInfo) -> Any:
        # Imported here: the board checker loads driver entry points, which the rest of config does not need.
        from evse.board import parse_board

        if value != "sim":
            evses = info.data.get("evses")
            if evses is None:
                return value  # the evses error is reported instead
            parse_board(value, [e.id for e in evses])
        return value

    @field_validator("site")
    @classmethod
    def _site_binds(cls, value: SiteSection | None, info: ValidationInfo) -> SiteSection | None:
        # A site limit the EVSEs together cannot reach would never limit anything: it is a mistake
        # (a total over the phases, watts, another site's figure) that would look like protection.
        evses = info.data.get("evses")
        if value is None or evses is None:
            return value
        total = sum(e.max_current_a for e in evses)
        if value.max_current_a > total:
            raise ValueError(
                f"max_current_a {value.max_current_a:g} A is more than the EVSEs together can draw "
                f"({total:g} A per phase): it would never limit anything; lower it or remove site"
            )
        return value

    @field_validator("web")
    @classmethod
    def _own_password(cls, value: WebSection, info: ValidationInfo) -> WebSection:
        # A page password that is also the CSMS's would let anyone who reads one log in as the other.
        csms = info.data.get("csms")
        theirs = csms.basic_auth_password if csms is not None else None
        if value.password is not None and theirs is not None and value.password == theirs:
            raise ValueError("password must not be the CSMS password (csms.basic_auth_password)")
        return value

    @model_validator(mode="after")
    def _evses_numbered(self) -> Settings:
        # OCPP numbers EVSEs 1..n without gaps (the station is EVSE 0).
        ids = [e.id for e in self.evses]
        if ids != list(range(1, len(ids) + 1)):
            raise ValueError(f"evse ids must be 1..n in order, got {ids}")
        return self

    @property
    def socket_path(self) -> Path:
        return self.control_socket or self.state_dir / "control.sock"

    @property
    def layout(self) -> list[tuple[int, list[int]]]:
        return [(e.id, [c.id for c in e.connectors]) for e in self.evses]


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue  # pydantic's internal validator/union labels, meaningless to a technician
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def parse_settings(data: Any, source: str) -> Settings:
    """Validate already-loaded YAML data; `source` names the file in error messages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping of sections")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{source}: {_key_path(tuple(first['loc']))}: {message}") from None


def load_settings(path: Path) -> Settings:
    """Read and validate the YAML file at `path`; raises ConfigError with one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return settings_from_text(text, path)


def settings_from_text(text: str, path: Path) -> Settings:
    """Validate `text` as if it were the file at `path` (errors name it, relative paths are relative to it):
    the web page checks an upload before it replaces the file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None
    settings = parse_settings(data, str(path))
    # Relative paths are relative to the config file, so `make run` works from any directory.
    if not settings.state_dir.is_absolute():
        settings = settings.model_copy(update={"state_dir": (path.parent / settings.state_dir).resolve()})
    tls_files = {
        name: (path.parent / value).resolve()
        for name in ("ca_file", "client_cert", "client_key")
        if (value := getattr(settings.csms, name)) is not None and not value.is_absolute()
    }
    if tls_files:
        settings = settings.model_copy(update={"csms": settings.csms.model_copy(update=tls_files)})
    factory_root = settings.firmware.factory_root
    if factory_root is not None and not factory_root.is_absolute():
        firmware = settings.firmware.model_copy(update={"factory_root": (path.parent / factory_root).resolve()})
        settings = settings.model_copy(update={"firmware": firmware})
    version_file = settings.station.firmware_version_file
    if version_file is not None and not version_file.is_absolute():
        station = settings.station.model_copy(update={"firmware_version_file": (path.parent / version_file).resolve()})
        settings = settings.model_copy(update={"station": station})
    return settings
