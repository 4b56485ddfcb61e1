"""GetVariables, SetVariables, GetBaseReport and GetReport (OCPP 2.0.1 use cases B05-B08).

Thin translation between the generated message models and the device model's own request/result values
(evse.devicemodel.operations); every decision is made in evse.devicemodel. What stays here is what only
the message layer can do:

- A request with more items than DeviceDataCtrlr.ItemsPerMessage[<message>] is answered with a CALLERROR
  OccurrenceConstraintViolation (the specification lets the station do so, e.g. B06.FR.16, B08.FR.17),
  one larger than BytesPerMessage[<message>] with FormatViolation (B06.FR.17, B08.FR.18); the byte size
  is that of the re-serialized payload, which is close to but not exactly what arrived.
- Reports are sent as NotifyReportRequests only after the GetBaseReport/GetReport answer has left
  (`Reply.then`), in batches of ItemsPerMessage[GetReport] items, seqNo 0.., tbc on all but the last.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from evse.clock import Clock
from evse.devicemodel.definitions import AttributeType, VariableKey
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.operations import (
    GetVariableData,
    ReportEntry,
    SetVariableData,
    SetVariableResult,
)
from evse.devicemodel.reports import base_report, custom_report, notify_report_batches, unsupported_criteria
from evse.ocpp.calls import CallSender
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.keys import component_key, component_type, selector, variable_type
from evse.ocpp.v201.message_limits import enforce_message_limits

log = logging.getLogger(__name__)

_INFO_MAX = 512  # StatusInfoType.additionalInfo maxLength


def _attribute(value: m.AttributeEnumType | None) -> AttributeType | None:
    return AttributeType(value.value) if value is not None else None


def _status_info(reason_code: str | None, info: str | None) -> m.StatusInfoType | None:
    if reason_code is None:
        return None
    return m.StatusInfoType(reasonCode=reason_code, additionalInfo=info[:_INFO_MAX] if info else None)


def _check_limits(model: DeviceModel, message: str, items: int, payload: m.OcppRequest) -> None:
    enforce_message_limits(
        model.message_limits(message),
        items,
        payload,
        f"DeviceDataCtrlr.ItemsPerMessage[{message}]",
        f"DeviceDataCtrlr.BytesPerMessage[{message}]",
    )


def _report_data(entry: ReportEntry) -> m.ReportDataType:
    characteristics = entry.characteristics
    return m.ReportDataType(
        component=component_type(entry.component),
        variable=variable_type(entry.variable),
        variableAttribute=[
            m.VariableAttributeType(
                type=m.AttributeEnumType(attribute.type.value),
                value=attribute.value,
                mutability=m.MutabilityEnumType(attribute.mutability.value),
                persistent=attribute.persistent,
                constant=attribute.constant,
            )
            for attribute in entry.attributes
        ],
        variableCharacteristics=m.VariableCharacteristicsType(
            dataType=m.DataEnumType(characteristics.data_type.value),
            supportsMonitoring=characteristics.supports_monitoring,
            unit=characteristics.unit,
            minLimit=characteristics.min_limit,
            maxLimit=characteristics.max_limit,
            valuesList=",".join(characteristics.values_list) or None,
        ),
    )


def notify_report_sender(
    model: DeviceModel, sender: CallSender, clock: Clock, request_id: int, entries: Sequence[ReportEntry]
) -> Callable[[], Awaitable[None]]:
    """The follow-up that sends a report as NotifyReportRequests, one CALL at a time."""

    async def send() -> None:
        batches = notify_report_batches(entries, model.message_limits("GetReport").items)
        for batch in batches:
            await sender.call(
                m.NotifyReportRequest(
                    requestId=request_id,
                    generatedAt=clock.now(),
                    seqNo=batch.seq_no,
                    reportData=[_report_data(entry) for entry in batch.entries],
                    tbc=batch.tbc,
                ),
                m.NotifyReportResponse,
            )
        log.info("report sent request_id=%s items=%d messages=%d", request_id, len(entries), len(batches))

    return send


#: What the station does once a SetVariablesResponse with these results has left, if anything
#: (a new BasicAuthPassword: reconnect with it).
AfterSet = Callable[[Sequence[SetVariableResult]], Callable[[], Awaitable[None]] | None]


def register(
    router: Router, model: DeviceModel, sender: CallSender, clock: Clock, *, after_set: AfterSet | None = None
) -> None:
    """Serve the device-model messages from `model`; reports go to the CSMS through `sender`."""

    async def get_variables(request: m.GetVariablesRequest) -> m.GetVariablesResponse:
        _check_limits(model, "GetVariables", len(request.getVariableData), request)
        results = model.get_variables(
            [
                GetVariableData(
                    component_key(item.component),
                    VariableKey(item.variable.name, item.variable.instance),
                    _attribute(item.attributeType),
                )
                for item in request.getVariableData
            ]
        )
        return m.GetVariablesResponse(
            getVariableResult=[
                m.GetVariableResultType(
                    attributeStatus=m.GetVariableStatusEnumType(result.status.value),
                    attributeStatusInfo=_status_info(result.reason_code, result.additional_info),
                    attributeType=m.AttributeEnumType(result.attribute_type.value),
                    attributeValue=result.value,
                    component=component_type(result.component),
                    variable=variable_type(result.variable),
                )
                for result in results
            ]
        )

    async def set_variables(request: m.SetVariablesRequest) -> m.SetVariablesResponse | Reply:
        _check_limits(model, "SetVariables", len(request.setVariableData), request)
        # Persisted synchronously on the loop: the station database is one connection shared by all
        # parts, and a write from another thread could interleave with their transactions.
        results = model.set_variables(
            [
                SetVariableData(
                    component_key(item.component),
                    VariableKey(item.variable.name, item.variable.instance),
                    item.attributeValue,
                    _attribute(item.attributeType),
                )
                for item in request.setVariableData
            ]
        )
        for result in results:
            log.info(
                "SetVariables component=%s variable=%s attribute=%s status=%s",
                result.component,
                result.variable,
                result.attribute_type,
                result.status,
            )
        response = m.SetVariablesResponse(
            setVariableResult=[
                m.SetVariableResultType(
                    attributeStatus=m.SetVariableStatusEnumType(result.status.value),
                    attributeStatusInfo=_status_info(result.reason_code, result.additional_info),
                    attributeType=m.AttributeEnumType(result.attribute_type.value),
                    component=component_type(result.component),
                    variable=variable_type(result.variable),
                )
                for result in results
            ]
        )
        job = after_set(results) if after_set is not None else None
        return response if job is None else Reply(response, then=job)

    async def get_base_report(request: m.GetBaseReportRequest) -> m.GetBaseReportResponse | Reply:
        entries = base_report(model, request.reportBase.value)
        if entries is None:
            return m.GetBaseReportResponse(status=m.GenericDeviceModelStatusEnumType.NotSupported)
        if not entries:
            return m.GetBaseReportResponse(status=m.GenericDeviceModelStatusEnumType.EmptyResultSet)
        return Reply(
            m.GetBaseReportResponse(status=m.GenericDeviceModelStatusEnumType.Accepted),
            then=notify_report_sender(model, sender, clock, request.requestId, entries),
        )

    async def get_report(request: m.GetReportRequest) -> m.GetReportResponse | Reply:
        selectors = request.componentVariable or []
        _check_limits(model, "GetReport", len(selectors), request)
        criteria = [criterion.value for criterion in request.componentCriteria or []]
        if unsupported_criteria(criteria):
            return m.GetReportResponse(status=m.GenericDeviceModelStatusEnumType.NotSupported)
        entries = custom_report(
            model,
            criteria,
            [selector(item) for item in selectors],
        )
        if not entries:
            return m.GetReportResponse(status=m.GenericDeviceModelStatusEnumType.EmptyResultSet)
        return Reply(
            m.GetReportResponse(status=m.GenericDeviceModelStatusEnumType.Accepted),
            then=notify_report_sender(model, sender, clock, request.requestId, entries),
        )

    router.register(m.GetVariablesRequest, get_variables)
    router.register(m.SetVariablesRequest, set_variables)
    router.register(m.GetBaseReportRequest, get_base_report)
    router.register(m.GetReportRequest, get_report)
