"""Which line of a YAML text a `check-config` error names, so the page shows the error next to it.

An error names either a position (``file:12:5: invalid YAML``) or a key path (``file: evses[0].max_current_a:
...``). A key path is followed through the YAML node tree; when its last part is missing (a required key),
the line of the deepest part that exists is the one to look at.
"""

from __future__ import annotations

import re

import yaml

_POSITION = re.compile(r"^:(\d+):\d+: ")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def error_line(error: str, source: str, text: str) -> int | None:
    """The 1-based line of `text` that `error` (which starts with `source`) is about; None if it names none."""
    if not error.startswith(source):
        return None
    rest = error[len(source) :]
    position = _POSITION.match(rest)
    if position:
        return int(position.group(1))
    if not rest.startswith(": "):
        return None
    key_path = rest[2:].split(": ", 1)[0]
    return key_path_line(text, key_path)


def key_path_line(text: str, key_path: str) -> int | None:
    """The line of ``evses[0].connectors[0].type`` (or of its deepest existing parent) in `text`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None or key_path == "(top level)":
        return 1
    line: int | None = None
    for name, index in _PART.findall(key_path):
        child: yaml.Node | None = None
        if name and isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == name:
                    line, child = key.start_mark.line + 1, value
                    break
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
