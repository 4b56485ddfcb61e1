"""Compiling the official OCPP JSON schemas of one version to small Python validators.

Shared by the 2.0.1 and 1.6 validation (evse/ocpp/v201/schemas.py, evse/ocpp/v16/schemas.py), which add
the error-code mapping of their version. The schemas are read from the installed `ocpp` package
(ocpp/<version>/schemas), never copied or edited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import fastjsonschema

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# fastjsonschema writes the whole schema node, every $ref expanded, into each raise statement it generates,
# only to fill JsonSchemaValueException.definition, which nothing here reads. Each raise is one line ending
# in `definition=<repr>, rule='<keyword>')`: dropping the definition keeps the message and the rule (which
# the CALLERROR code comes from) and leaves a quarter of the source.
_DEFINITION = re.compile(r", definition=.*, rule=('\w+')\)$", re.MULTILINE)

# compile() holds the syntax tree of everything it is given at once; the generated module is a few lines of
# imports and constants followed by top-level functions, so it is compiled one function at a time.
_TOP_LEVEL_DEF = re.compile(r"^(?=def )", re.MULTILINE)
_FIRST_DEF = re.compile(r"^def (\w+)\(", re.MULTILINE)


def schema_names(version_dir: str) -> frozenset[str]:
    """The file stems of every schema of one version ("v16", "v201")."""
    root = files("ocpp") / version_dir / "schemas"
    return frozenset(entry.name.removesuffix(".json") for entry in root.iterdir() if entry.name.endswith(".json"))


def validator_source(version_dir: str, stem: str) -> str:
    """The Python source fastjsonschema generates for one schema file, without the schema copies."""
    text = (files("ocpp") / version_dir / "schemas" / f"{stem}.json").read_text(encoding="utf-8")
    return _DEFINITION.sub(r", rule=\1)", fastjsonschema.compile_to_code(json.loads(text)))


def compile_validator(version_dir: str, stem: str) -> Callable[[Any], Any]:
    """A validator function for one schema file; it raises fastjsonschema.JsonSchemaValueException."""
    source = validator_source(version_dir, stem)
    # The entry point is the first function; a schema with an $id names it after the id, not `validate`.
    entry = _FIRST_DEF.search(source)
    if entry is None:
        raise ValueError(f"no validator generated for {version_dir}/{stem}")
    namespace: dict[str, Any] = {}
    for chunk in _TOP_LEVEL_DEF.split(source):
        exec(compile(chunk, f"<schema {version_dir}/{stem}>", "exec"), namespace)  # as fastjsonschema.compile does
    validate: Callable[[Any], Any] = namespace[entry.group(1)]
    return validate


def wide_integer(value: Any, path: str) -> str | None:
    """The path of the first integer outside 32 bits, or None.

    The schemas say `"type": "integer"` without a range, but OCPP's integer is 32 bits in both versions.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return path if not INT32_MIN <= value <= INT32_MAX else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = wide_integer(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = wide_integer(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
