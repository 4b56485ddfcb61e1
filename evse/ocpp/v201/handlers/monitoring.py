"""SetVariableMonitoring, ClearVariableMonitoring, SetMonitoringBase, SetMonitoringLevel and
GetMonitoringReport (OCPP 2.0.1 N02-N05): translation between the messages and VariableMonitors.

- A SetVariableMonitoring with more items than MonitoringCtrlr.ItemsPerSetVariableMonitoring is answered
  with a CALLERROR OccurrenceConstraintViolation, one larger than BytesPerSetVariableMonitoring with
  FormatViolation; likewise ClearVariableMonitoring with the *ClearVariableMonitoring limits.
- GetMonitoringReport is answered first; the NotifyMonitoringReportRequests follow (`Reply.then`), at most
  MonitoringCtrlr.ItemsPerMessage[GetMonitoringReport] component/variable items and
  BytesPerMessage[GetMonitoringReport] bytes each, seqNo 0.., tbc on all but the last.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from evse.clock import Clock
from evse.devicemodel.definitions import ComponentKey, VariableKey
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.monitor_requests import (
    Criterion,
    SetRequest,
    SetStatus,
    split_by_size,
)
from evse.devicemodel.monitoring import (
    Monitor,
    MonitoringBase,
    MonitorType,
)
from evse.errors import DeviceModelError
from evse.ocpp.calls import CallError, CallSender
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.keys import component_key, component_type, selector, variable_type
from evse.station.shell.variable_monitors import VariableMonitors

log = logging.getLogger(__name__)

_CTRLR = "MonitoringCtrlr"
_INFO_MAX = 512

ReportItem = tuple[ComponentKey, VariableKey, list[Monitor]]


def _limit(model: DeviceModel, variable: str, instance: str | None = None) -> int | None:
    try:
        return model.get_int(_CTRLR, variable, variable_instance=instance)
    except DeviceModelError:  # a definition set without the limit (small test models): no limit
        return None


def _check_limits(model: DeviceModel, message: str, items: int, payload: m.OcppRequest) -> None:
    most = _limit(model, f"ItemsPer{message}")
    if most is not None and items > most:
        raise CallError("OccurrenceConstraintViolation", f"{items} items exceed {_CTRLR}.ItemsPer{message} = {most}")
    biggest = _limit(model, f"BytesPer{message}")
    size = len(payload.model_dump_json(exclude_none=True).encode())
    if biggest is not None and size > biggest:
        raise CallError("FormatViolation", f"{size} bytes exceed {_CTRLR}.BytesPer{message} = {biggest}")


# statusInfo.reasonCode per refusal (at most 20 characters); additionalInfo says which rule, in words.
_REASON_CODES = {
    SetStatus.REJECTED: "InvalidValue",
    SetStatus.UNKNOWN_COMPONENT: "UnknownComponent",
    SetStatus.UNKNOWN_VARIABLE: "UnknownVariable",
    SetStatus.UNSUPPORTED_MONITOR_TYPE: "UnsupportedType",
    SetStatus.DUPLICATE: "Duplicate",
}


def _status_info(code: str, reason: str | None) -> m.StatusInfoType | None:
    if reason is None:
        return None
    return m.StatusInfoType(reasonCode=code, additionalInfo=reason[:_INFO_MAX])


def _monitoring_data(item: ReportItem) -> m.MonitoringDataType:
    component, variable, monitors = item
    return m.MonitoringDataType(
        component=component_type(component),
        variable=variable_type(variable),
        variableMonitoring=[
            m.VariableMonitoringType(
                id=monitor.id,
                transaction=monitor.transaction,
                value=monitor.value,
                type=m.MonitorEnumType(monitor.type.value),
                severity=monitor.severity,
            )
            for monitor in monitors
        ],
    )


def report_batches(
    items: Sequence[ReportItem], request_id: int, generated_at: datetime, max_items: int | None, max_bytes: int | None
) -> list[m.NotifyMonitoringReportRequest]:
    """The NotifyMonitoringReportRequests of a report: split by items and by serialized size."""

    def message(batch: Sequence[ReportItem], seq_no: int = 0, tbc: bool = False) -> m.NotifyMonitoringReportRequest:
        return m.NotifyMonitoringReportRequest(
            requestId=request_id,
            seqNo=seq_no,
            generatedAt=generated_at,
            monitor=[_monitoring_data(item) for item in batch],
            tbc=tbc,
        )

    def size(batch: Sequence[ReportItem]) -> int:
        return len(message(batch).model_dump_json(exclude_none=True).encode())

    batches = split_by_size(items, max_items, max_bytes, size)
    return [message(batch, index, index < len(batches) - 1) for index, batch in enumerate(batches)]


def report_sender(
    model: DeviceModel, sender: CallSender, clock: Clock, request_id: int, items: Sequence[ReportItem]
) -> Callable[[], Awaitable[None]]:
    """The follow-up that sends a monitoring report, one CALL at a time."""

    async def send() -> None:
        messages = report_batches(
            items,
            request_id,
            clock.now(),
            _limit(model, "ItemsPerMessage", "GetMonitoringReport"),
            _limit(model, "BytesPerMessage", "GetMonitoringReport"),
        )
        for message in messages:
            await sender.call(message, m.NotifyMonitoringReportResponse)
        log.info("monitoring report sent request_id=%s items=%d messages=%d", request_id, len(items), len(messages))

    return send


def register(router: Router, monitors: VariableMonitors, model: DeviceModel, sender: CallSender, clock: Clock) -> None:
    """Serve block N's monitoring messages from `monitors`; reports go to the CSMS through `sender`."""

    async def set_variable_monitoring(request: m.SetVariableMonitoringRequest) -> m.SetVariableMonitoringResponse:
        _check_limits(model, "SetVariableMonitoring", len(request.setMonitoringData), request)
        results = monitors.set_monitoring(
            [
                SetRequest(
                    component=component_key(item.component),
                    variable=VariableKey(item.variable.name, item.variable.instance),
                    type=MonitorType(item.type.value),
                    value=item.value,
                    severity=item.severity,
                    transaction=bool(item.transaction),
                    id=item.id,
                )
                for item in request.setMonitoringData
            ]
        )
        return m.SetVariableMonitoringResponse(
            setMonitoringResult=[
                m.SetMonitoringResultType(
                    id=result.monitor.id if result.monitor is not None else item.id,
                    status=m.SetMonitoringStatusEnumType(result.status.value),
                    statusInfo=_status_info(_REASON_CODES.get(result.status, "Rejected"), result.reason),
                    type=item.type,
                    severity=item.severity,
                    component=item.component,
                    variable=item.variable,
                )
                for item, result in zip(request.setMonitoringData, results, strict=True)
            ]
        )

    async def clear_variable_monitoring(
        request: m.ClearVariableMonitoringRequest,
    ) -> m.ClearVariableMonitoringResponse:
        _check_limits(model, "ClearVariableMonitoring", len(request.id), request)
        return m.ClearVariableMonitoringResponse(
            clearMonitoringResult=[
                m.ClearMonitoringResultType(
                    id=monitor_id,
                    status=m.ClearMonitoringStatusEnumType(status.value),
                    statusInfo=_status_info("NotClearable", reason),
                )
                for monitor_id, status, reason in monitors.clear(request.id)
            ]
        )

    async def set_monitoring_base(request: m.SetMonitoringBaseRequest) -> m.SetMonitoringBaseResponse:
        monitors.set_base(MonitoringBase(request.monitoringBase.value))
        log.info("SetMonitoringBase %s", request.monitoringBase.value)
        return m.SetMonitoringBaseResponse(status=m.GenericDeviceModelStatusEnumType.Accepted)

    async def set_monitoring_level(request: m.SetMonitoringLevelRequest) -> m.SetMonitoringLevelResponse:
        if monitors.set_level(request.severity):
            return m.SetMonitoringLevelResponse(status=m.GenericStatusEnumType.Accepted)
        return m.SetMonitoringLevelResponse(
            status=m.GenericStatusEnumType.Rejected,
            statusInfo=m.StatusInfoType(reasonCode="OutOfRange", additionalInfo="severity must be 0..9"),
        )

    async def get_monitoring_report(request: m.GetMonitoringReportRequest) -> m.GetMonitoringReportResponse | Reply:
        criteria = [Criterion(criterion.value) for criterion in request.monitoringCriteria or []]
        selectors = [selector(item) for item in request.componentVariable or []]
        items = monitors.report(criteria, selectors)
        if not items:
            return m.GetMonitoringReportResponse(status=m.GenericDeviceModelStatusEnumType.EmptyResultSet)
        return Reply(
            m.GetMonitoringReportResponse(status=m.GenericDeviceModelStatusEnumType.Accepted),
            then=report_sender(model, sender, clock, request.requestId, items),
        )

    router.register(m.SetVariableMonitoringRequest, set_variable_monitoring)
    router.register(m.ClearVariableMonitoringRequest, clear_variable_monitoring)
    router.register(m.SetMonitoringBaseRequest, set_monitoring_base)
    router.register(m.SetMonitoringLevelRequest, set_monitoring_level)
    router.register(m.GetMonitoringReportRequest, get_monitoring_report)
