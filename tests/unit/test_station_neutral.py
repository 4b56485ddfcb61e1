"""The station speaks no protocol: no module under evse/station imports an OCPP message layer of either
version, directly or through any other evse module it imports (issue 13: "keep evse/station free of message
classes of either version"; docs/ocpp16-design.md). What the CSMS must hear goes through the station's port,
`evse.station.shell.wire.Wire`, which the protocol adapter implements (evse/ocpp/v201/wire/).

A CALL's shape (evse/ocpp/calls.py: OcppMessage, CallSender and its errors) and the outbox are not message
layers: they name no message of either version.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The message layers: each version's models, schemas and handlers (evse.ocpp.v201, .v16), dialects, RPC session.
PROTOCOL = ("evse.ocpp.v201", "evse.ocpp.v16", "evse.ocpp.dialect", "evse.ocpp.rpc")


def _source(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, root: Path) -> set[str]:
    """The evse modules `module` imports (a `from package import name` counts the submodule too)."""
    path = _source(module, root)
    if path is None:
        return set()
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names if _source(f"{node.module}.{a.name}", root)}
    return {name for name in names if name == "evse" or name.startswith(("evse.", "drivers."))}


def protocol_reach(start: list[str], root: Path = ROOT) -> list[str]:
    """'importer -> layer' for every message layer reachable from the `start` modules."""
    found: set[str] = set()
    seen: set[str] = set()
    pending = list(start)
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in _imports(module, root):
            if name.startswith(PROTOCOL):
                found.add(f"{module} -> {name}")
            else:
                pending.append(name)
    return sorted(found)


def station_modules(root: Path = ROOT) -> list[str]:
    return sorted(
        ".".join(p.relative_to(root).with_suffix("").parts) for p in (root / "evse" / "station").rglob("*.py")
    )


def test_the_station_reaches_no_message_layer() -> None:
    modules = station_modules()
    assert "evse.station.shell.station" in modules and "evse.station.core.evse_fsm" in modules
    assert protocol_reach(modules) == []


def test_the_check_sees_a_message_layer_behind_another_module(tmp_path: Path) -> None:
    package = tmp_path / "evse" / "station"
    package.mkdir(parents=True)
    (package / "clean.py").write_text("from evse.engine import helper\n")
    (tmp_path / "evse" / "engine.py").write_text("import evse.ocpp.v16.messages\nfrom evse.ocpp import rpc\n")
    (tmp_path / "evse" / "ocpp").mkdir()
    (tmp_path / "evse" / "ocpp" / "rpc.py").write_text("")
    assert protocol_reach(station_modules(tmp_path), tmp_path) == [
        "evse.engine -> evse.ocpp.rpc",
        "evse.engine -> evse.ocpp.v16.messages",
    ]


def test_the_core_imports_nothing_of_ocpp_at_all() -> None:
    """The core (evse/station/core) is stricter still: not even the call shapes or the outbox."""
    core = [name for name in station_modules() if name.startswith("evse.station.core.")]
    assert "evse.station.core.evse_fsm" in core
    assert {name: sorted(i for i in _imports(name, ROOT) if i.startswith("evse.ocpp")) for name in core} == {
        name: [] for name in core
    }
