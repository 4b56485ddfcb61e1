"""GetVariables and SetVariables judged against the device model (OCPP 2.0.1 use cases B05, B06).

Pure: these functions read the model and return results; SetVariables returns a plan that the model
persists and applies afterwards (DeviceModel.persist / DeviceModel.apply), so a change is durable before
it takes effect, and a caller that owns a database thread can do the write there.

Order of checks per item, each answering with the first status that applies: unknown component, unknown
variable, attribute type not defined, mutability (WriteOnly cannot be read, ReadOnly cannot be written),
value size, value validity; RebootRequired for variables marked reboot_required.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evse.devicemodel.definitions import AttributeAddress, AttributeType, Mutability, VariableDef
from evse.devicemodel.limits import configuration_value_limit
from evse.devicemodel.operations import (
    GetVariableData,
    GetVariableResult,
    GetVariableStatus,
    SetVariableData,
    SetVariableResult,
    SetVariableStatus,
)
from evse.devicemodel.store import StoredValue, ValueSource
from evse.devicemodel.validation import ReasonCode, check_value_size, validate_value

if TYPE_CHECKING:
    from evse.devicemodel.model import DeviceModel


@dataclass
class SetVariablesPlan:
    """A judged SetVariablesRequest: the results, the rows to store, the values to apply."""

    results: list[SetVariableResult] = field(default_factory=list)
    writes: list[StoredValue] = field(default_factory=list)
    applies: list[tuple[AttributeAddress, str]] = field(default_factory=list)
    deferred: list[tuple[AttributeAddress, str]] = field(default_factory=list)
    """Values accepted with RebootRequired: stored now, in effect after the next start."""


def get_variables(model: DeviceModel, requests: Sequence[GetVariableData]) -> list[GetVariableResult]:
    """One result per requested item, in request order."""
    return [_get_one(model, request) for request in requests]


def _get_one(model: DeviceModel, request: GetVariableData) -> GetVariableResult:
    attribute_type = request.attribute_type or AttributeType.ACTUAL

    def result(status: GetVariableStatus, **extra: str | None) -> GetVariableResult:
        return GetVariableResult(request.component, request.variable, attribute_type, status, **extra)

    found = model.find(request.component, request.variable)
    if not isinstance(found, VariableDef):
        return result(found)
    attribute = found.attribute(attribute_type)
    if attribute is None:
        return result(GetVariableStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE)
    if not attribute.readable:
        return result(
            GetVariableStatus.REJECTED,
            reason_code=ReasonCode.WRITE_ONLY,
            additional_info=f"{found} is write-only",
        )
    value = model.reported_value(AttributeAddress(found.component, found.variable, attribute_type), attribute)
    return result(GetVariableStatus.ACCEPTED, value=value)


def plan_set_variables(model: DeviceModel, requests: Sequence[SetVariableData]) -> SetVariablesPlan:
    """Judge every item without changing anything. Later items for the same address win."""
    plan = SetVariablesPlan()
    for request in requests:
        plan.results.append(_plan_one(model, request, plan))
    return plan


def _plan_one(model: DeviceModel, request: SetVariableData, plan: SetVariablesPlan) -> SetVariableResult:
    attribute_type = request.attribute_type or AttributeType.ACTUAL

    def result(status: SetVariableStatus, reason: str | None = None, info: str | None = None) -> SetVariableResult:
        return SetVariableResult(request.component, request.variable, attribute_type, status, reason, info)

    found = model.find(request.component, request.variable)
    if not isinstance(found, VariableDef):
        return result(SetVariableStatus(found.value))
    attribute = found.attribute(attribute_type)
    if attribute is None:
        return result(SetVariableStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE)
    if not attribute.writable_by_csms:
        return result(SetVariableStatus.REJECTED, ReasonCode.READ_ONLY, f"{found} is read-only")
    secret = attribute.mutability is Mutability.WRITE_ONLY
    problem = check_value_size(request.value, configuration_value_limit(model), secret=secret) or validate_value(
        request.value, found.characteristics, secret=secret
    )
    guard = model.guard(found)
    if problem is None and guard is not None:
        problem = guard(request.value)
    if problem is not None:
        return result(SetVariableStatus.REJECTED, problem.reason_code, problem.message)
    address = AttributeAddress(found.component, found.variable, attribute_type)
    # A reboot-required value must be stored whatever `persistent` says, or it could never take effect.
    if attribute.persistent or found.reboot_required:
        plan.writes.append(StoredValue(address, request.value, ValueSource.CSMS))
    if found.reboot_required:
        plan.deferred.append((address, request.value))
        return result(SetVariableStatus.REBOOT_REQUIRED)
    plan.applies.append((address, request.value))
    return result(SetVariableStatus.ACCEPTED)
