"""Compares what the station sent back for one step with what the probes of that step expect.

Expected codes come in 2.0.1 spelling; they are compared in the station's version's spelling, and a
CALLRESULT is validated against that version's response schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evse.ocpp.v201 import schemas
from tests.fuzz.frames import PAYLOAD_CODES, Expect, Probe, strict_loads
from tests.fuzz.payloads import FORMAT, OCCURRENCE
from tests.fuzz.versions import V201, FuzzVersion

# CALLERRORs a handler itself may answer with: DeviceDataCtrlr / LocalAuthListCtrlr ItemsPerMessage and
# BytesPerMessage (B06.FR.16/17, B08.FR.17/18, D01), MonitoringCtrlr Items/BytesPer(Set|Clear)VariableMonitoring.
HANDLER_CODES: dict[str, frozenset[str]] = {
    action: frozenset({OCCURRENCE, FORMAT})
    for action in (
        "GetVariables",
        "SetVariables",
        "GetReport",
        "SendLocalList",
        "SetVariableMonitoring",
        "ClearVariableMonitoring",
    )
}
# With SmartChargingCtrlr.Enabled false (a SetVariables of the run may turn it off) the smart-charging messages
# are answered NotSupported (evse/ocpp/v201/handlers/smart_charging.py).
HANDLER_CODES |= {
    action: frozenset({"NotSupported"})
    for action in ("SetChargingProfile", "GetChargingProfiles", "ClearChargingProfile", "GetCompositeSchedule")
}
# 1.6: SendLocalList longer than SendLocalListMaxLength (evse/ocpp/v16/handlers/local_list.py).
HANDLER_CODES_16: dict[str, frozenset[str]] = {"SendLocalList": frozenset({OCCURRENCE, FORMAT})}


def reply_code(reply: Any) -> str:
    """`CALLRESULT` or the CALLERROR code, for the summary."""
    if isinstance(reply, list) and reply and reply[0] == 3:
        return "CALLRESULT"
    if isinstance(reply, list) and len(reply) > 2 and reply[0] == 4:
        return str(reply[2])
    return "malformed"


def _shape_problem(reply: Any) -> str | None:
    if not isinstance(reply, list) or not reply:
        return "reply is not an OCPP-J array"
    if reply[0] == 3:
        if len(reply) != 3 or not isinstance(reply[1], str) or not isinstance(reply[2], dict):
            return "CALLRESULT is not [3, id, {payload}]"
        return None
    if reply[0] == 4:
        if len(reply) != 5 or not all(isinstance(reply[i], str) for i in (1, 2, 3)) or not isinstance(reply[4], dict):
            return "CALLERROR is not [4, id, code, description, {details}]"
        if len(reply[3]) > 255:
            return "CALLERROR description longer than 255 characters"
        return None
    return f"reply of message type {reply[0]!r}: a station only answers with 3 or 4"


def _content_problem(expect: Expect, reply: list[Any], version: FuzzVersion) -> str | None:
    code = reply_code(reply)
    if expect.codes and not expect.loose:
        codes = version.codes(expect.codes)
        if code not in codes:
            return f"expected CALLERROR {sorted(codes)}, got {code}"
        return None
    allowed = (HANDLER_CODES if version is V201 else HANDLER_CODES_16).get(expect.action or "", frozenset())
    if expect.loose:
        allowed = allowed | PAYLOAD_CODES
    allowed = version.codes(allowed)
    if code == "CALLRESULT":
        try:
            version.dialect.validate_response(expect.action or "", reply[2])
        except schemas.PayloadViolation as exc:
            return f"CALLRESULT does not match {expect.action}Response: {exc.description}"
        if expect.statuses and reply[2].get("status") not in expect.statuses:
            return f"{expect.action} answered {reply[2].get('status')!r}, expected {sorted(expect.statuses)}"
        return None
    if code not in allowed:
        return f"handler answered CALLERROR {code} ({reply[3]!r}); allowed: {sorted(allowed) or 'none'}"
    return None


def check_step(
    probes: Sequence[Probe], sent: Sequence[str], version: FuzzVersion = V201
) -> tuple[list[str], list[Any]]:
    """Problems found (empty when all is right) and the parsed replies, for counting."""
    problems: list[str] = []
    replies: list[Any] = []
    for text in sent:
        try:
            replies.append(strict_loads(text))
        except (ValueError, RecursionError) as exc:
            problems.append(f"station sent something that is not JSON: {exc}: {text[:200]!r}")
    remaining = list(replies)
    for probe in probes:
        expect = probe.expect
        if expect.message_id is None:
            continue
        matching = [r for r in remaining if isinstance(r, list) and len(r) > 1 and r[1] == expect.message_id]
        if not matching:
            problems.append(f"no answer for id {expect.message_id[:40]!r} ({probe.kind})")
            continue
        # With duplicate ids, take the reply that fits this probe if there is one.
        chosen = next(
            (r for r in matching if _shape_problem(r) is None and _content_problem(expect, r, version) is None),
            matching[0],
        )
        remaining.remove(chosen)
        problem = _shape_problem(chosen) or _content_problem(expect, chosen, version)
        if problem is not None:
            problems.append(problem)
    for reply in remaining:
        problems.append(f"unexpected reply {str(reply)[:200]}")
    return problems, replies
