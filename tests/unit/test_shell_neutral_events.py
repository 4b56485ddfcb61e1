"""The shell's events, reservations and display modules speak no protocol (issue 13: evse/station holds no
message class): they import no message layer of either OCPP version (evse.ocpp.rpc's OcppMessage and errors
stay allowed) and name no 2.0.1 message module. Until the whole shell is neutral, the modules made so are
listed here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SHELL = Path(__file__).resolve().parents[2] / "evse" / "station" / "shell"
NEUTRAL = (
    "wire_events",
    "variable_monitors",
    "storage_fault",
    "reservations",
    "display_messages",
    "driver_screen",
)
FORBIDDEN = ("evse.ocpp.v201", "evse.ocpp.v16", "evse.ocpp.dialect")


def protocol_imports(source: str) -> list[str]:
    """The message-layer modules `source` imports (`from evse.ocpp import v201` counts too)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # The module itself, or (from evse.ocpp import v201) the submodules it names.
            names = (
                [node.module] if node.module.startswith(FORBIDDEN) else [f"{node.module}.{a.name}" for a in node.names]
            )
        else:
            continue
        found += [name for name in names if name.startswith(FORBIDDEN)]
    return found


def test_the_listed_modules_exist() -> None:
    assert [name for name in NEUTRAL if not (SHELL / f"{name}.py").is_file()] == []


def test_the_listed_shell_modules_import_no_message_layer_and_name_no_message_class() -> None:
    sources = {name: (SHELL / f"{name}.py").read_text() for name in NEUTRAL}
    assert {name: protocol_imports(text) for name, text in sources.items()} == {name: [] for name in NEUTRAL}
    # `m.` is how every module of the station refers to the 2.0.1 messages (m16. to 1.6's).
    assert {name: re.findall(r"\bm(?:16)?\.[A-Z]\w+", text) for name, text in sources.items()} == {
        name: [] for name in NEUTRAL
    }


def test_the_check_sees_each_kind_of_import() -> None:
    leaky = (
        "from evse.ocpp import v201\n"
        "import evse.ocpp.v16.messages\n"
        "from evse.ocpp.dialect import message_models\n"
        "from evse.ocpp.rpc import OcppMessage\n"
    )
    assert protocol_imports(leaky) == ["evse.ocpp.v201", "evse.ocpp.v16.messages", "evse.ocpp.dialect"]
