"""Find drivers by name through the ``evse.drivers`` entry-point group.

An entry point is named ``<kind>.<name>`` and points at the driver class (or factory), e.g.::

    [project.entry-points."evse.drivers"]
    "meter.sdm630" = "acme_board.meter:Sdm630Meter"

so a manufacturer ships a board as its own package without touching ``evse/``. The daemon
constructs a driver with keyword arguments: ``evse_id=`` plus the fields of the driver's validated
``Params`` model (the driver's keys in the board YAML), i.e.
``factory(evse_id=1, **validate_params(kind, name, yaml_keys).model_dump())``.
The board builder adds what a family of drivers shares beyond its keys: ``pin_factory=`` for the GPIO
drivers, ``sim_board=`` for the simulated ones (their ``Params`` take no keys; the devices of one
:class:`drivers.sim.SimBoard` share its simulated hardware and its ``evse sim`` hooks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from drivers.errors import DriverError

log = logging.getLogger(__name__)

GROUP: Final = "evse.drivers"
#: The kinds of driver there are interfaces for (drivers.interfaces), in the order a board lists them.
KINDS: Final = ("meter", "contactor", "lock", "pilot", "rfid", "input", "temperature", "display", "iso15118")

_REGISTRY = "driver registry"


def _entry_points() -> Iterable[EntryPoint]:
    """The installed entry points of the group (a seam for tests)."""
    return entry_points(group=GROUP)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DriverError(_REGISTRY, f"unknown driver kind {kind!r}; kinds: {', '.join(KINDS)}")


def _entry_points_of(kind: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in _entry_points():
        ep_kind, dot, name = ep.name.partition(".")
        if ep_kind != kind or not dot or not name:
            continue
        if name in found and found[name].value != ep.value:
            # Two installed packages claim the same name: keep the first, but say so.
            log.warning("driver=%s.%s duplicate=%s kept=%s", kind, name, ep.value, found[name].value)
            continue
        found.setdefault(name, ep)
    return found


def available(kind: str) -> list[str]:
    """Names of the installed drivers of ``kind``, sorted (``available("meter") -> ["sim", ...]``)."""
    _check_kind(kind)
    return sorted(_entry_points_of(kind))


def load_driver(kind: str, name: str) -> Callable[..., object]:
    """The driver class (or factory) registered as ``<kind>.<name>``.

    Raises DriverError (one line) for an unknown kind, an unknown name (listing the available
    names of that kind) or a driver whose module fails to import.
    """
    _check_kind(kind)
    eps = _entry_points_of(kind)
    ep = eps.get(name)
    if ep is None:
        names = ", ".join(sorted(eps)) or "(none installed)"
        raise DriverError(_REGISTRY, f"unknown {kind} driver {name!r}; available: {names}")
    try:
        factory = ep.load()
    except Exception as exc:  # any import-time failure of a third-party driver package
        first_line = (str(exc).splitlines() or [""])[0]
        raise DriverError(f"{kind}.{name}", f"cannot load {ep.value}: {type(exc).__name__}: {first_line}") from exc
    if not callable(factory):
        raise DriverError(f"{kind}.{name}", f"{ep.value} is not a class or factory")
    return factory  # type: ignore[no-any-return]  # EntryPoint.load() is typed Any


def params_model(kind: str, name: str) -> type[BaseModel]:
    """The ``Params`` model of driver ``<kind>.<name>`` (its keys in the board YAML)."""
    factory = load_driver(kind, name)
    model = getattr(factory, "Params", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise DriverError(f"{kind}.{name}", "declares no Params model (a pydantic BaseModel class attribute)")
    if model.model_config.get("extra") != "forbid":
        # A misspelt key must never be silently ignored on a live board.
        raise DriverError(f"{kind}.{name}", "its Params model must refuse unknown keys (extra='forbid')")
    return model


def _key_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in part:
            continue  # pydantic's validator/union labels, meaningless to a technician
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def validate_params(kind: str, name: str, params: Mapping[str, Any]) -> BaseModel:
    """Validate a driver's keys from the board YAML without constructing the driver.

    Raises DriverError with one line naming the driver and the bad key, e.g.
    ``meter.sim: parameter 'port': Extra inputs are not permitted``.
    """
    model = params_model(kind, name)
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DriverError(f"{kind}.{name}", f"parameter {_key_path(first['loc'])!r}: {message}{more}") from None
