"""NotifyMonitoringReport batching (N02): split by MonitoringCtrlr.ItemsPerMessage and BytesPerMessage
[GetMonitoringReport], framed with seqNo and tbc, every message valid against the official schema."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from evse.devicemodel.definitions import ComponentKey, VariableKey
from evse.devicemodel.monitoring import Monitor, MonitorType
from evse.ocpp.v201.handlers.monitoring import report_batches
from evse.ocpp.v201.schemas import validate_request

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def items(count: int, per_variable: int) -> list[tuple[ComponentKey, VariableKey, list[Monitor]]]:
    out = []
    for i in range(count):
        component, variable = ComponentKey("EVSE", evse_id=i + 1), VariableKey("Power")
        monitors = [
            Monitor(i * 10 + j + 1, component, variable, MonitorType.UPPER_THRESHOLD, 1000.0 + j, j % 10)
            for j in range(per_variable)
        ]
        out.append((component, variable, monitors))
    return out


@given(
    st.integers(min_value=1, max_value=25),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=512, max_value=4000),
)
def test_batches_respect_both_limits_and_are_framed(count: int, per_variable: int, most: int, biggest: int) -> None:
    report = items(count, per_variable)
    messages = report_batches(report, 7, NOW, most, biggest)
    assert [m.seqNo for m in messages] == list(range(len(messages)))
    assert [m.tbc for m in messages] == [True] * (len(messages) - 1) + [False]
    assert all(m.requestId == 7 for m in messages)
    assert [d.variableMonitoring[0].id for m in messages for d in m.monitor or []] == [g[2][0].id for g in report]
    for message in messages:
        assert len(message.monitor or []) <= most
        size = len(message.model_dump_json(exclude_none=True).encode())
        assert size <= biggest or len(message.monitor or []) == 1
        validate_request("NotifyMonitoringReport", message.model_dump(mode="json", exclude_none=True))
