"""The station core speaks no protocol: the modules made protocol-neutral import no OCPP message layer, of
either version, not even through another core module (ARCHITECTURE: "the station core imports no message
class of either version"; docs/ocpp16-design.md section 5 step 3).

Add a module to NEUTRAL once its 2.0.1 types have moved to the edge (evse/ocpp/v201/...).
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "evse" / "station" / "core"
CORE_PACKAGE = "evse.station.core"
NEUTRAL = (
    "authorization",  # TokenVerdict instead of IdTokenInfoType (step 3a)
    "tokens",
    "tokens_neutral",
)


def core_imports(module: str, core_dir: Path) -> tuple[set[str], set[str]]:
    """(every imported module name, the core modules among them) of <core_dir>/<module>.py."""
    names: set[str] = set()
    for node in ast.walk(ast.parse((core_dir / f"{module}.py").read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == CORE_PACKAGE:  # from evse.station.core import evse_fsm
                names |= {f"{CORE_PACKAGE}.{alias.name}" for alias in node.names}
    core = {name.removeprefix(CORE_PACKAGE + ".") for name in names if name.startswith(CORE_PACKAGE + ".")}
    return names, core


def protocol_imports(module: str, core_dir: Path = CORE) -> list[str]:
    """The evse.ocpp imports `module` reaches, directly or through the core modules it imports."""
    found: list[str] = []
    seen: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        names, core = core_imports(current, core_dir)
        found += sorted(f"{current}: {name}" for name in names if name == "evse.ocpp" or name.startswith("evse.ocpp."))
        pending += sorted(core)
    return found


def test_the_listed_core_modules_exist() -> None:
    assert [name for name in NEUTRAL if not (CORE / f"{name}.py").is_file()] == []


def test_neutral_core_modules_import_no_ocpp_message_layer() -> None:
    assert {name: protocol_imports(name) for name in NEUTRAL} == {name: [] for name in NEUTRAL}


def test_the_check_sees_a_protocol_import_also_through_another_core_module(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("from evse.station.core.middle import X\n")
    (tmp_path / "middle.py").write_text("from evse.station.core import leaky\n")
    (tmp_path / "leaky.py").write_text("from evse.ocpp.v16 import messages as m16\nimport evse.ocpp.v201.messages\n")
    assert protocol_imports("clean", tmp_path) == [
        "leaky: evse.ocpp.v16",
        "leaky: evse.ocpp.v201.messages",
    ]
