"""The OCPP 2.0.1 station session of the development CSMS: one handler per request a station may send."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import ChargePoint as ChargePoint201

from evse.devcsms.session import StationSession, handles


class StationSession201(StationSession, ChargePoint201):  # type: ignore[misc]  # ocpp ships no type hints
    """The CSMS side of a 2.0.1 connection; the library validates against the 2.0.1 schemas."""

    # One handler per request a station may send (responses.STATION_ACTIONS); all answers are
    # decided in CsmsBehaviour so that they can be unit-tested and overridden by tests.

    @handles("Authorize")
    async def on_authorize(self, **_: Any) -> Any:
        return await self._answer("Authorize")

    @handles("BootNotification")
    async def on_boot_notification(self, **_: Any) -> Any:
        return await self._answer("BootNotification")

    @handles("ClearedChargingLimit")
    async def on_cleared_charging_limit(self, **_: Any) -> Any:
        return await self._answer("ClearedChargingLimit")

    @handles("DataTransfer")
    async def on_data_transfer(self, **_: Any) -> Any:
        return await self._answer("DataTransfer")

    @handles("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, **_: Any) -> Any:
        return await self._answer("FirmwareStatusNotification")

    @handles("Get15118EVCertificate")
    async def on_get_15118_ev_certificate(self, **_: Any) -> Any:
        return await self._answer("Get15118EVCertificate")

    @handles("GetCertificateStatus")
    async def on_get_certificate_status(self, **_: Any) -> Any:
        return await self._answer("GetCertificateStatus")

    @handles("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> Any:
        return await self._answer("Heartbeat")

    @handles("LogStatusNotification")
    async def on_log_status_notification(self, **_: Any) -> Any:
        return await self._answer("LogStatusNotification")

    @handles("MeterValues")
    async def on_meter_values(self, **_: Any) -> Any:
        return await self._answer("MeterValues")

    @handles("NotifyChargingLimit")
    async def on_notify_charging_limit(self, **_: Any) -> Any:
        return await self._answer("NotifyChargingLimit")

    @handles("NotifyCustomerInformation")
    async def on_notify_customer_information(self, **_: Any) -> Any:
        return await self._answer("NotifyCustomerInformation")

    @handles("NotifyDisplayMessages")
    async def on_notify_display_messages(self, **_: Any) -> Any:
        return await self._answer("NotifyDisplayMessages")

    @handles("NotifyEVChargingNeeds")
    async def on_notify_ev_charging_needs(self, **_: Any) -> Any:
        return await self._answer("NotifyEVChargingNeeds")

    @handles("NotifyEVChargingSchedule")
    async def on_notify_ev_charging_schedule(self, **_: Any) -> Any:
        return await self._answer("NotifyEVChargingSchedule")

    @handles("NotifyEvent")
    async def on_notify_event(self, **_: Any) -> Any:
        return await self._answer("NotifyEvent")

    @handles("NotifyMonitoringReport")
    async def on_notify_monitoring_report(self, **_: Any) -> Any:
        return await self._answer("NotifyMonitoringReport")

    @handles("NotifyReport")
    async def on_notify_report(self, **_: Any) -> Any:
        return await self._answer("NotifyReport")

    @handles("PublishFirmwareStatusNotification")
    async def on_publish_firmware_status_notification(self, **_: Any) -> Any:
        return await self._answer("PublishFirmwareStatusNotification")

    @handles("ReportChargingProfiles")
    async def on_report_charging_profiles(self, **_: Any) -> Any:
        return await self._answer("ReportChargingProfiles")

    @handles("ReservationStatusUpdate")
    async def on_reservation_status_update(self, **_: Any) -> Any:
        return await self._answer("ReservationStatusUpdate")

    @handles("SecurityEventNotification")
    async def on_security_event_notification(self, **_: Any) -> Any:
        return await self._answer("SecurityEventNotification")

    @handles("SignCertificate")
    async def on_sign_certificate(self, **_: Any) -> Any:
        return await self._answer("SignCertificate")

    @handles("StatusNotification")
    async def on_status_notification(self, **_: Any) -> Any:
        return await self._answer("StatusNotification")

    @handles("TransactionEvent")
    async def on_transaction_event(self, **_: Any) -> Any:
        return await self._answer("TransactionEvent")
