"""2.0.1 customData as the station keeps it: the JSON text received, so a value is reported back unchanged
(tokens, verdicts, display messages) without the station reading what a vendor put there."""

from __future__ import annotations

from evse.ocpp.v201 import messages as m


def vendor_data(custom: m.CustomDataType | None) -> str | None:
    return custom.model_dump_json() if custom is not None else None


def custom_data(text: str | None) -> m.CustomDataType | None:
    return m.CustomDataType.model_validate_json(text) if text is not None else None
