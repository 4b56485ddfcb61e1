"""The one exception hierarchy of the station stack."""


class EvseError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(EvseError):
    """The technician's configuration (YAML or device-model override) is invalid.

    The message is a single line naming the file, the key path and the problem.
    """


class StorageError(EvseError):
    """The SQLite state database could not be opened or migrated."""


class DeviceModelError(EvseError):
    """A device-model definition file is inconsistent."""


class ControlError(EvseError):
    """A control-socket request failed (daemon not running, unknown EVSE ...)."""
