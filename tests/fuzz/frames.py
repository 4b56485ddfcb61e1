"""Frame generators: everything a CSMS (or a broken network path) could put in a websocket message.

Each generator returns `Probe`s: the text (or bytes) to feed and the answer OCPP-J prescribes for it. A
probe knows its own expected answer; the oracle (`oracle.py`) only compares. Message ids are unique per
run (`f<index>`), except where a generator makes a duplicate or an unreadable one on purpose.

The version (versions.py) decides the schemas, the known actions and the configuration generator (2.0.1
SetVariables/GetVariables on device-model variables, 1.6 ChangeConfiguration/GetConfiguration on its keys);
expected codes are in 2.0.1 spelling and translated by the oracle.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fuzz.payloads import FORMAT, PROPERTY, Hints, Mutated, PayloadFactory
from tests.fuzz.versions import V201, FuzzVersion

RPC = "RpcFrameworkError"
# Codes a CALL whose payload is unknown to the generator may get before any handler runs.
PAYLOAD_CODES = frozenset(
    {FORMAT, "TypeConstraintViolation", "OccurrenceConstraintViolation", "PropertyConstraintViolation"}
)


@dataclass(frozen=True)
class Expect:
    """What must come back for one probe.

    `message_id` None: nothing at all (an answer is never answered). `codes` non-empty: one CALLERROR with
    that id and one of these codes. `codes` empty: the handler's answer (a schema-valid CALLRESULT for
    `action`, or one of `handler_codes`). `loose`: the generator cannot tell whether the payload is
    valid, so either a payload CALLERROR or a handler answer is right.
    """

    message_id: str | None
    codes: frozenset[str] = frozenset()
    action: str | None = None
    loose: bool = False
    # Non-empty: a CALLRESULT must carry one of these statuses (the Plug & Charge DataTransfer's). Out of the
    # repr, so `--show` prints a 2.0.1 probe as it always did.
    statuses: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def reaches_handler(self) -> bool:
        return self.message_id is not None and (not self.codes or self.loose)


@dataclass(frozen=True)
class Probe:
    """One websocket message and the answer it must get; `kind` names the generator for the summary."""

    data: str | bytes
    expect: Expect
    kind: str
    detail: str = ""


@dataclass
class Generators:
    """All generators, sharing one seeded Random so a run is reproducible from (seed, index)."""

    rng: random.Random
    registered: Sequence[str]
    hints: Hints = field(default_factory=dict)
    no_handler: frozenset[str] = frozenset()  # actions that must never reach their handler (Reset on the wire)
    # 2.0.1: device-model addresses for SetVariables/GetVariables; 1.6: configuration key names.
    targets: Sequence[Any] = ()
    version: FuzzVersion = V201
    # 1.6 Plug & Charge: the whitepaper's vendorId and the 2.0.1 requests a CSMS may wrap in DataTransfer.
    pnc_vendor: str = ""
    pnc_actions: Sequence[str] = ()
    _factories: dict[str, PayloadFactory] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for action in self.registered:
            self._factories[action] = PayloadFactory(action, self.rng, self.hints, version=self.version)
        self.known = self.version.dialect.known_actions()
        self.unregistered = sorted(self.known - set(self.registered))
        configuration = self.device_model_call if self.version is V201 else self.configuration_call
        self._table: list[tuple[Callable[[str], list[Probe]], int, bool]] = [
            # (generator, weight, may change state when valid)
            (self.random_bytes, 4, False),
            (self.broken_json, 8, False),
            (self.bad_envelope, 8, False),
            (self.unknown_action, 3, False),
            (self.unsupported_action, 3, False),
            (self.invalid_call, 40, False),
            (self.answer_nobody_waits_for, 8, False),
            (self.duplicate_ids, 2, False),
            (self.valid_call, 24, True),
            (configuration, 6 if self.targets else 0, True),
        ]
        if self.pnc_actions:  # appended, not weighted 0 in the 2.0.1 table: 2.0.1 draws stay as they were
            self._pnc_factories = {a: PayloadFactory(a, self.rng, version=V201) for a in self.pnc_actions}
            self._table.append((self.pnc_call, 3, True))

    def factory(self, action: str) -> PayloadFactory:
        return self._factories[action]

    def next(self, message_id: str, *, invalid_only: bool) -> list[Probe]:
        """The probes of one step: usually one, a few for the duplicate-id generator."""
        table = [(g, w) for g, w, changes in self._table if not (invalid_only and changes)]
        generator = self.rng.choices([g for g, _ in table], [w for _, w in table])[0]
        probes = generator(message_id)
        if any(p.expect.reaches_handler and (invalid_only or p.expect.action in self.no_handler) for p in probes):
            return self.next(message_id, invalid_only=invalid_only)
        return probes

    # ---- generators -------------------------------------------------------------------------------
    def random_bytes(self, message_id: str) -> list[Probe]:
        rng = self.rng
        raw = rng.randbytes(rng.choice([0, 1, 2, 8, 64, 1024]))
        data: str | bytes = raw if rng.random() < 0.5 else raw.decode("utf-8", errors="replace")
        return [Probe(data, _expect_for_text(data, self.registered, self.known), "random_bytes")]

    def broken_json(self, message_id: str) -> list[Probe]:
        rng = self.rng
        action = rng.choice(self.registered)
        text = json.dumps([2, message_id, action, self.factory(action).valid()])
        choice = rng.randrange(8)
        if choice == 0:
            text = text[: rng.randrange(len(text))]
        elif choice == 1:
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice('[]{},:"\\x') + text[at + 1 :]
        elif choice == 2:
            text = text.replace('"', "'")
        elif choice == 3:
            text = text + rng.choice(["]", ",", "x", "[]"])
        elif choice == 4:
            text = rng.choice(["NaN", "Infinity", "-Infinity", "1e999"])
            text = f'[2,"{message_id}","{action}",{{"x":{text}}}]'
        elif choice == 5:
            depth = rng.choice([2_000, 100_000])
            text = "[" * depth + "]" * depth
        elif choice == 6:
            text = f'[2,"{message_id}\\ud800","{action}",{{}}]'
        else:
            text = "\ufeff" + text
        return [Probe(text, _expect_for_text(text, self.registered, self.known), "broken_json", str(choice))]

    def bad_envelope(self, message_id: str) -> list[Probe]:
        rng = self.rng
        action = rng.choice(self.registered)
        payload = self.factory(action).valid()
        frame: Any = rng.choice(
            [
                {"id": message_id},
                "text",
                42,
                None,
                [],
                [2],
                [2, message_id],
                [2, message_id, action],
                [2, message_id, action, payload, "extra"],
                [2, 17, action, payload],
                [2, None, action, payload],
                [2, [message_id], action, payload],
                [2, message_id, 5, payload],
                [2, message_id, None, payload],
                ["2", message_id, action, payload],
                [2.5, message_id, action, payload],
                [True, message_id, action, payload],
                [rng.choice([0, 1, 5, 6, 99, -2, 2**40]), message_id, action, payload],
                [rng.choice([0, 1, 5, 6, 99]), message_id],
                [None, message_id, action, payload],
            ]
        )
        text = json.dumps(frame)
        return [Probe(text, _expect_for_text(text, self.registered, self.known), "bad_envelope")]

    def unknown_action(self, message_id: str) -> list[Probe]:
        unknown = ["Bogus", "reset", "Reset ", "", "GetVariablesRequest", "\u00c9t\u00e9", "x" * 500]
        if self.version is not V201:
            unknown += ["GetVariables", "RequestStartTransaction", "Reset.req"]  # 2.0.1's names, 1.6's suffix
        action = self.rng.choice(unknown)
        text = json.dumps([2, message_id, action, {}])
        return [Probe(text, Expect(message_id, frozenset({"NotImplemented"})), "unknown_action")]

    def unsupported_action(self, message_id: str) -> list[Probe]:
        # Actions the version defines that this station does not serve (including those only a station sends).
        action = self.rng.choice(self.unregistered)
        text = json.dumps([2, message_id, action, {}])
        return [Probe(text, Expect(message_id, frozenset({"NotSupported"})), "unsupported_action")]

    def invalid_call(self, message_id: str) -> list[Probe]:
        action = self.rng.choice(self.registered)
        mutated = self.factory(action).mutated()
        if mutated.reaches_handler:
            return self.invalid_call(message_id)
        text = json.dumps([2, message_id, action, mutated.payload])
        return [Probe(text, Expect(message_id, mutated.codes, action), "invalid_call", f"{action} {mutated.mutation}")]

    def valid_call(self, message_id: str) -> list[Probe]:
        action = self.rng.choice([a for a in self.registered if a not in self.no_handler])
        factory = self.factory(action)
        mutated = factory.mutated() if self.rng.random() < 0.5 else Mutated(factory.valid(), "valid", frozenset())
        text = json.dumps([2, message_id, action, mutated.payload])
        expect = Expect(message_id, mutated.codes, action)
        return [
            Probe(
                text,
                expect,
                "valid_call" if mutated.reaches_handler else "invalid_call",
                f"{action} {mutated.mutation}",
            )
        ]

    def device_model_call(self, message_id: str) -> list[Probe]:
        """SetVariables/GetVariables on real variables with values from sensible to hostile: the device
        model's own validation (types, limits, valuesList, mutability) answers, per item."""
        rng = self.rng
        items = []
        for _ in range(rng.randint(1, 4)):
            item = json.loads(json.dumps(rng.choice(self.targets)))
            if rng.random() < 0.3:
                item["attributeType"] = rng.choice(["Actual", "Target", "MinSet", "MaxSet"])
            items.append(item)
        if rng.random() < 0.5:
            for item in items:
                item["attributeValue"] = rng.choice(_SET_VALUES)
            action, key = "SetVariables", "setVariableData"
        else:
            action, key = "GetVariables", "getVariableData"
        text = json.dumps([2, message_id, action, {key: items}])
        return [Probe(text, Expect(message_id, frozenset(), action), "device_model_call", action)]

    def configuration_call(self, message_id: str) -> list[Probe]:
        """1.6: ChangeConfiguration/GetConfiguration on real keys (configuration_keys.yaml) with values from
        sensible to hostile: the configuration view and the device model behind it answer."""
        rng = self.rng
        if rng.random() < 0.5:
            action = "ChangeConfiguration"
            value = rng.choice(CONFIGURATION_VALUES)
            payload: dict[str, Any] = {"key": rng.choice(self.targets), "value": value}
            # ChangeConfiguration.req value has maxLength 500.
            codes = frozenset({PROPERTY}) if len(value) > 500 else frozenset()
        else:
            action = "GetConfiguration"
            keys = [rng.choice(self.targets) for _ in range(rng.randint(0, 4))]
            payload = {"key": keys} if keys or rng.random() < 0.5 else {}
            codes = frozenset()
        text = json.dumps([2, message_id, action, payload])
        return [Probe(text, Expect(message_id, codes, action), "configuration_call", action)]

    def pnc_call(self, message_id: str) -> list[Probe]:
        """1.6 DataTransfer for the Plug & Charge whitepaper: `data` a 2.0.1 request of the messageId, valid
        or with one mutation, as JSON text. The station must answer Accepted (the 2.0.1 handler's answer in
        data) when the inner request is valid, Rejected when it is not, UnknownMessageId for a messageId
        outside the whitepaper; never a CALLERROR, since the DataTransfer itself is valid."""
        rng = self.rng
        if rng.random() < 0.1:
            inner = rng.choice(["Authorize", "Bogus", "certificateSigned", "Get15118EVCertificate"])
            data, mutation, statuses = "{}", "unknown_message", frozenset({"UnknownMessageId"})
        else:
            inner = rng.choice(self.pnc_actions)
            factory = self._pnc_factories[inner]
            mutated = factory.mutated() if rng.random() < 0.6 else Mutated(factory.valid(), "valid", frozenset())
            # ensure_ascii: a lone surrogate travels as a \u escape inside the (valid Unicode) data text.
            data, mutation = json.dumps(mutated.payload), mutated.mutation
            statuses = frozenset({"Accepted" if mutated.reaches_handler else "Rejected"})
        payload = {"vendorId": self.pnc_vendor, "messageId": inner, "data": data}
        text = json.dumps([2, message_id, "DataTransfer", payload])
        expect = Expect(message_id, frozenset(), "DataTransfer", statuses=statuses)
        return [Probe(text, expect, "pnc_call", f"{inner} {mutation}")]

    def answer_nobody_waits_for(self, message_id: str) -> list[Probe]:
        rng = self.rng
        frame: list[Any] = rng.choice(
            [
                [3, message_id, {"status": "Accepted"}],
                [3, message_id, None],
                [3, message_id],
                [3],
                [3, 17, {}],
                [4, message_id, "InternalError", "boom", {}],
                [4, message_id, "NotACode", 5, []],
                [4, message_id, "GenericError"],
                [4],
                [4, None, None, None, None, None],
            ]
        )
        text = json.dumps(frame)
        return [Probe(text, Expect(None), "answer_unknown_id")]

    def duplicate_ids(self, message_id: str) -> list[Probe]:
        # Two CALLs with one id in the same read burst: each must still get exactly one answer.
        first = self.invalid_call(message_id)[0]
        second = self.unknown_action(message_id)[0]
        return [first, second]


_SET_VALUES = [
    "0",
    "1",
    "-1",
    "30",
    "2147483647",
    "2147483648",
    "86400",
    "1e3",
    "0x10",
    "3.5",
    "true",
    "false",
    "TRUE",
    "",
    " ",
    "Authorized,EVConnected",
    "EVConnected,,",
    "PowerPathClosed,EnergyTransfer",
    "Energy.Active.Import.Register,Voltage",
    "Bogus.Measurand",
    "\x00",
    "\u202e",
    "x" * 1000,
    "9" * 40,
    "NaN",
    "-0",
]

# 1.6 ChangeConfiguration values: the same, and what 1.6's own keys take (ConnectorPhaseRotation's per-connector
# list, a CSL with spaces, a profile list, a 40-character AuthorizationKey-like hex string).
CONFIGURATION_VALUES = [
    *_SET_VALUES,
    "1.RST",
    "0.NotApplicable,1.RTS",
    "1.Unknown,2.RST",
    "1.XYZ",
    "Energy.Active.Import.Register, Voltage",
    "Core,SmartCharging",
    "60",
    "3600",
    "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567",
]


def strict_loads(text: str | bytes) -> Any:
    """RFC 8259 JSON: no NaN/Infinity, no numbers that overflow to infinity."""

    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    def finite(token: str) -> float:
        value = float(token)
        if value in (float("inf"), float("-inf")):
            raise ValueError(f"number out of range: {token}")
        return value

    return json.loads(text, parse_constant=refuse, parse_float=finite)


def _unicode_ok(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _expect_for_text(data: str | bytes, registered: Sequence[str], known: frozenset[str]) -> Expect:
    """The answer OCPP-J prescribes for an arbitrary message, decided from its parsed form."""
    try:
        frame = strict_loads(data)
    except (ValueError, RecursionError):
        return Expect("-1", frozenset({RPC}))
    if not isinstance(frame, list) or not frame:
        return Expect("-1", frozenset({RPC}))
    kind = frame[0]
    if type(kind) in (int, float) and kind in (3, 4):
        return Expect(None)  # an answer is never answered, however malformed
    message_id = frame[1] if len(frame) > 1 else None
    if not isinstance(message_id, str) or not _unicode_ok(message_id):
        return Expect("-1", frozenset({RPC}))
    if type(kind) not in (int, float) or kind != 2:
        return Expect(message_id, frozenset({"MessageTypeNotSupported", RPC}))
    if len(frame) != 4 or not isinstance(frame[2], str):
        return Expect(message_id, frozenset({RPC}))
    action, payload = frame[2], frame[3]
    if action not in known:
        return Expect(message_id, frozenset({"NotImplemented"}))
    if action not in registered:
        return Expect(message_id, frozenset({"NotSupported"}))
    if not isinstance(payload, dict):
        return Expect(message_id, frozenset({FORMAT, "TypeConstraintViolation"}))
    return Expect(message_id, PAYLOAD_CODES, action, loose=True)
