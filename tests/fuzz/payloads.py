"""Random payloads from the official OCPP schemas (2.0.1, or 1.6 with `version=V16`), and single mutations with
the answer they must get.

The generator reads the schema itself (the JSON files of the `ocpp` package), so it knows what each
mutation breaks without asking the station's validator: one mutation of an otherwise valid payload breaks
exactly one constraint, and OCPP-J (Part 4, 4.3) names the CALLERROR for each kind of constraint:

- a value of the wrong JSON type, a fraction where an integer belongs, an integer outside the 32 bits OCPP's
  primitive `integer` has (Part 2, primitive datatypes)            -> TypeConstraintViolation
- a required field missing, too few or too many array items        -> OccurrenceConstraintViolation
- a string too long, an unknown enum value, a number below its minimum, a timestamp that is not one
                                                                   -> PropertyConstraintViolation
- a field the schema does not define, a string that is not Unicode (a lone surrogate escape)
                                                                   -> FormatViolation

Mutations that keep the payload valid (odd but legal Unicode, extra customData properties, long arrays
without maxItems, deep JSON inside customData) are marked as reaching the handler.

The codes are spelled as 2.0.1 spells them whatever the version; the oracle translates (versions.py). The 1.6
schemas have keywords the 2.0.1 ones lack (`multipleOf` 0.1 on charging-rate limits, `format: uri` on
locations): valid values respect them, and 1.6 gets a mutation for each (a value off the 0.1 grid, a location
that is no URI -> PropertyConstraintViolation). 2.0.1 payloads are drawn exactly as before for the same seed.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from tests.fuzz.versions import V201, FuzzVersion

TYPE = "TypeConstraintViolation"
OCCURRENCE = "OccurrenceConstraintViolation"
PROPERTY = "PropertyConstraintViolation"
FORMAT = "FormatViolation"

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# Strings that are valid Unicode but unkind to code: NUL, controls, bidi overrides, combining marks,
# astral characters, a BOM, a non-character.
ODD_TEXT = [
    "\x00",
    "a\x00b",
    "\x7f\x1b[2J",
    "\u202eevil",
    "e\u0301\u0301\u0301",
    "\U0001f50c\U0001f697",
    "\ufeff",
    "\uffff",
    "\u2028\u2029",
    "'; DROP TABLE outbox; --",
    "%s%n{0}",
    "\\u0000",
    "null",
]
LONE_SURROGATES = ["\ud800", "\udfff", "x\udc00y", "\udbff"]

_WRONG_VALUES: dict[str, list[Any]] = {
    "string": [1, 0.5, True, None, [], {}],
    "integer": ["1", 1.5, True, None, [], {}],
    "number": ["1.0", True, None, [], {}],
    "boolean": [0, 1, "true", None, [], {}],
    "object": ["x", 1, True, None, []],
    "array": ["x", 1, True, None, {}],
}


# Locations (1.6 UpdateFirmware, GetDiagnostics): loopback ports nothing listens on, so a valid CALL that
# starts a transfer fails fast and never leaves the machine.
URIS = ["ftp://127.0.0.1:9/fw.bin", "https://127.0.0.1:9/upload", "http://[::1]:9/x", "sftp://user@127.0.0.1:9/"]


@cache
def load_schema(name: str, directory: str = "v201") -> dict[str, Any]:
    """One schema file of the `ocpp` package: ocpp/<directory>/schemas/<name>.json."""
    text = (files("ocpp") / directory / "schemas" / f"{name}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True)
class Mutated:
    """A payload and what the station must answer: a CALLERROR with one of `codes`, or (codes empty)
    a handler's answer."""

    payload: Any
    mutation: str
    codes: frozenset[str]

    @property
    def reaches_handler(self) -> bool:
        return not self.codes


@dataclass(frozen=True)
class _Site:
    """One value inside a generated payload, with the schema node that describes it."""

    path: tuple[str | int, ...]
    node: Mapping[str, Any]


Hints = Mapping[str, Sequence[Any]]


class PayloadFactory:
    """Valid and mutated payloads for one action's request (or, with kind="Response", response) schema."""

    def __init__(
        self,
        action: str,
        rng: random.Random,
        hints: Hints | None = None,
        *,
        kind: str = "Request",
        version: FuzzVersion = V201,
    ) -> None:
        self.action = action
        self.schema = load_schema(version.schema_name(action, kind), version.schema_dir)
        self._mutations = _MUTATIONS if version is V201 else _MUTATIONS_16
        self._rng = rng
        self._hints = hints or {}

    # ---- valid payloads ---------------------------------------------------------------------------
    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            node = self.schema["definitions"][str(node["$ref"]).rsplit("/", 1)[-1]]
        return node

    def valid(self) -> dict[str, Any]:
        payload = self._value(self.schema, 0, "")
        assert isinstance(payload, dict)
        return payload

    def _value(self, raw: Mapping[str, Any], depth: int, name: str) -> Any:
        node = self._resolve(raw)
        rng = self._rng
        if "enum" in node:
            return rng.choice(node["enum"])
        kind = node.get("type")
        if kind == "object":
            out: dict[str, Any] = {}
            required = set(node.get("required", ()))
            for key, child in node.get("properties", {}).items():
                optional_chance = 0.35 if depth < 4 else 0.0
                if key == "customData":
                    optional_chance = 0.05
                if key in required or rng.random() < optional_chance:
                    out[key] = self._value(child, depth + 1, key)
            return out
        if kind == "array":
            low = int(node.get("minItems", 0))
            high = min(int(node.get("maxItems", low + 3)), low + 3)
            return [self._value(node["items"], depth + 1, name) for _ in range(rng.randint(low, high))]
        if name in self._hints and rng.random() < 0.8:
            return rng.choice(self._hints[name])
        if kind == "string":
            if node.get("format") == "date-time":
                return _timestamp(rng)
            if node.get("format") == "uri":  # 1.6 only
                return rng.choice(URIS)
            limit = int(node.get("maxLength", 40))
            return _text(rng, rng.randint(1 if limit else 0, min(limit, 24)))
        if kind == "integer":
            low = int(node.get("minimum", 0))
            high = int(node.get("maximum", low + 5))
            return rng.randint(low, high) if rng.random() < 0.9 else rng.randint(max(low, 0), INT32_MAX)
        if kind == "number":
            floor = float(node.get("minimum", 0.0))
            if "multipleOf" in node:  # 1.6 only: 0.1 on charging-rate limits
                return round(floor + rng.random() * 100, 1)
            return round(floor + rng.random() * 100, rng.randint(0, 3))
        if kind == "boolean":
            return rng.random() < 0.5
        # No type at all (DataTransfer.data): any JSON value is valid.
        return rng.choice([None, 1, "text", [1, "a"], {"k": {"n": [True]}}, _nested(20)])

    # ---- mutations --------------------------------------------------------------------------------
    def _sites(self, value: Any, raw: Mapping[str, Any], path: tuple[str | int, ...]) -> list[_Site]:
        node = self._resolve(raw)
        sites = [_Site(path, node)]
        if isinstance(value, dict) and node.get("type") == "object":
            properties = node.get("properties", {})
            for key, child in value.items():
                if key in properties:
                    sites += self._sites(child, properties[key], (*path, key))
        elif isinstance(value, list) and node.get("type") == "array":
            for index, item in enumerate(value):
                sites += self._sites(item, node["items"], (*path, index))
        return sites

    def mutated(self) -> Mutated:
        """A valid payload with one mutation applied; retries until a mutation applies."""
        while True:
            payload = self.valid()
            sites = self._sites(payload, self.schema, ())
            mutation = self._rng.choice(self._mutations)
            result = mutation(self, payload, sites)
            if result is not None:
                return result

    def _pick(self, sites: list[_Site], accept: Callable[[_Site], bool]) -> _Site | None:
        candidates = [site for site in sites if accept(site)]
        return self._rng.choice(candidates) if candidates else None


def _timestamp(rng: random.Random) -> str:
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(-(10**8), 10**8))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(["Z", ".123Z", "+00:00", "+02:00"])


def _text(rng: random.Random, length: int) -> str:
    if rng.random() < 0.1 and length > 0:
        return rng.choice(ODD_TEXT)[:length]
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_.") for _ in range(length))


def _replace(payload: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return payload


def _nested(depth: int, top: str = "array") -> Any:
    """JSON nested `depth` levels, alternating arrays and objects, with an array (or object) outermost."""
    value: Any = "leaf"
    for n in range(depth):
        value = [value] if (depth - n) % 2 == (top == "array") else {"k": value}
    return value


Mutation = Callable[[PayloadFactory, dict[str, Any], list[_Site]], Mutated | None]


def _wrong_type(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: bool(s.path) and s.node.get("type") in _WRONG_VALUES)
    if site is None:
        return None
    value = factory._rng.choice(_WRONG_VALUES[str(site.node["type"])])
    return Mutated(
        _replace(payload, site.path, value), f"wrong_type:{'.'.join(map(str, site.path))}", frozenset({TYPE})
    )


def _whole_payload_wrong(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    # Not an object at all: the PDU itself has the wrong shape.
    value = factory._rng.choice([[], [payload], "payload", 7, None, True])
    return Mutated(value, "payload_not_object", frozenset({FORMAT, TYPE}))


def _missing_required(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: bool(s.node.get("required")))
    if site is None:
        return None
    target: Any = payload
    for step in site.path:
        target = target[step]
    key = factory._rng.choice(list(site.node["required"]))
    del target[key]
    return Mutated(payload, f"missing:{key}", frozenset({OCCURRENCE}))


def _extra_field(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: s.node.get("type") == "object")
    if site is None:
        return None
    target: Any = payload
    for step in site.path:
        target = target[step]
    key = factory._rng.choice(["bogus", "Type", "__proto__", "", "customdata", "\x00", "x" * 300])
    if key in site.node.get("properties", {}):
        return None
    target[key] = factory._rng.choice([1, "x", None, {"a": []}])
    allowed = site.node.get("additionalProperties", True) is not False
    return Mutated(payload, f"extra:{key[:20]}", frozenset() if allowed else frozenset({FORMAT}))


def _too_long(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: "maxLength" in s.node and "enum" not in s.node)
    if site is None:
        return None
    limit = int(site.node["maxLength"])
    length = limit + 1 if factory._rng.random() < 0.7 else factory._rng.choice([limit * 10, 70_000])
    return Mutated(_replace(payload, site.path, "\u00e9" * length), f"too_long:{length}", frozenset({PROPERTY}))


def _item_count(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: s.node.get("type") == "array")
    if site is None:
        return None
    target: Any = payload
    for step in site.path:
        target = target[step]
    node = site.node
    if "maxItems" in node and factory._rng.random() < 0.5:
        count = int(node["maxItems"]) + 1
        codes = frozenset({OCCURRENCE})
    elif int(node.get("minItems", 0)) > 0 and factory._rng.random() < 0.5:
        count = 0
        codes = frozenset({OCCURRENCE})
    elif "maxItems" not in node:
        # A long but legal array: the station's own ItemsPerMessage/BytesPerMessage limits apply.
        count = factory._rng.choice([50, 500, 3000])
        codes = frozenset()
    else:
        return None
    item = target[0] if target else factory._value(node["items"], 9, "")
    return Mutated(_replace(payload, site.path, [item] * count), f"items:{count}", codes)


def _bad_enum(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: "enum" in s.node)
    if site is None:
        return None
    current = str(factory._rng.choice(site.node["enum"]))
    value = factory._rng.choice([current.lower(), current + " ", "Bogus", "", current.upper() + "\x00"])
    if value in site.node["enum"]:
        return None
    return Mutated(_replace(payload, site.path, value), "bad_enum", frozenset({PROPERTY}))


def _out_of_range(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: s.node.get("type") in ("integer", "number") and bool(s.path))
    if site is None:
        return None
    node = site.node
    rng = factory._rng
    if "minimum" in node and rng.random() < 0.6:
        below: float = node["minimum"] - (1 if node["type"] == "integer" else 0.5)
        return Mutated(_replace(payload, site.path, below), "below_minimum", frozenset({PROPERTY}))
    if "maximum" in node and rng.random() < 0.6:
        above = node["maximum"] + 1
        return Mutated(_replace(payload, site.path, above), "above_maximum", frozenset({PROPERTY}))
    if node["type"] == "integer":
        value = rng.choice([INT32_MAX + 1, INT32_MIN - 1, 2**63, -(2**64), 10**40])
        return Mutated(_replace(payload, site.path, value), f"int32_overflow:{value}", frozenset({TYPE, PROPERTY}))
    return None


def _bad_timestamp(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: s.node.get("format") == "date-time")
    if site is None:
        return None
    value = factory._rng.choice(
        ["yesterday", "", "2026-13-01T00:00:00Z", "2026-01-01 00:00:00", "2026-01-01T25:00:00Z", "0"]
    )
    # 2026-02-30 passes the schema's pattern but is no date: the station's parser refuses it instead.
    if factory._rng.random() < 0.2:
        return Mutated(
            _replace(payload, site.path, "2026-02-30T00:00:00Z"), "impossible_date", frozenset({PROPERTY, TYPE})
        )
    return Mutated(_replace(payload, site.path, value), "bad_timestamp", frozenset({PROPERTY}))


def _deep_nesting(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    depth = factory._rng.choice([8, 20, 64, 400])
    site = factory._pick(sites, lambda s: bool(s.path) and "type" in s.node)
    if site is None or factory._rng.random() < 0.3:
        # customData takes any extra property: deep JSON there is legal and reaches the handler, up to
        # the station's nesting limit (rpc.MAX_PAYLOAD_DEPTH, 32), past which it is a FormatViolation.
        # 1.6 has no customData and allows no extra field: there it is a FormatViolation at any depth.
        payload["customData"] = {"vendorId": "org.fuzz", "deep": _nested(depth)}
        legal = "customData" in factory.schema.get("properties", {})
        return Mutated(
            payload, f"deep_custom_data:{depth}", frozenset() if depth < 30 and legal else frozenset({FORMAT})
        )
    top = "object" if site.node["type"] == "array" else "array"
    codes = frozenset({TYPE}) if depth < 30 else frozenset({TYPE, FORMAT})
    return Mutated(_replace(payload, site.path, _nested(depth, top)), f"deep:{depth}", codes)


def _odd_unicode(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(
        sites, lambda s: s.node.get("type") == "string" and "enum" not in s.node and "format" not in s.node
    )
    if site is None:
        return None
    rng = factory._rng
    if rng.random() < 0.4:
        value = rng.choice(LONE_SURROGATES)
        return Mutated(_replace(payload, site.path, value), "lone_surrogate", frozenset({FORMAT}))
    value = rng.choice(ODD_TEXT)[: int(site.node.get("maxLength", 100))]
    if not value:
        return None
    return Mutated(_replace(payload, site.path, value), "odd_unicode", frozenset())


def _unchanged(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    return Mutated(payload, "valid", frozenset())


def _off_grid(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: "multipleOf" in s.node)
    if site is None:
        return None
    value = factory._rng.choice([0.05, 7.25, 16.01, 1e-7])
    return Mutated(_replace(payload, site.path, value), f"off_grid:{value}", frozenset({PROPERTY}))


def _bad_uri(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    site = factory._pick(sites, lambda s: s.node.get("format") == "uri")
    if site is None:
        return None
    value = factory._rng.choice(["", "firmware.bin", "ftp:// spaced", "://x", "\\\\server\\share"])
    return Mutated(_replace(payload, site.path, value), "bad_uri", frozenset({PROPERTY}))


def _edge_value(factory: PayloadFactory, payload: dict[str, Any], sites: list[_Site]) -> Mutated | None:
    # Legal by the schema, odd for the station: 32-bit extremes and negative ids (1.6 sets no minimum),
    # floats at the ends of the double range, timestamps at the ends of the calendar. The handler answers.
    site = factory._pick(
        sites,
        lambda s: (
            bool(s.path)
            and "enum" not in s.node
            and (s.node.get("type") in ("integer", "number") or s.node.get("format") == "date-time")
        ),
    )
    if site is None:
        return None
    rng = factory._rng
    if site.node.get("type") == "integer":
        value: Any = rng.choice([INT32_MAX, INT32_MIN, -1, 0])
    elif site.node.get("type") == "number":
        value = rng.choice([1e300, -1e300, 0.0, -0.1, 2147483647.0])
    else:
        value = rng.choice(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00+14:00"])
    return Mutated(_replace(payload, site.path, value), f"edge:{'.'.join(map(str, site.path))}={value}", frozenset())


_MUTATIONS: list[Mutation] = [
    _wrong_type,
    _wrong_type,
    _whole_payload_wrong,
    _missing_required,
    _missing_required,
    _extra_field,
    _extra_field,
    _too_long,
    _item_count,
    _bad_enum,
    _bad_enum,
    _out_of_range,
    _bad_timestamp,
    _deep_nesting,
    _odd_unicode,
    _odd_unicode,
    _unchanged,
]
# 1.6: the same, plus its schema keywords 2.0.1 lacks. A separate list, so 2.0.1 draws stay as they were.
_MUTATIONS_16: list[Mutation] = [*_MUTATIONS, _off_grid, _bad_uri, _edge_value, _edge_value]
