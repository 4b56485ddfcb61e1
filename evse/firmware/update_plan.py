"""The pure part of a firmware update: the job, its phases, and every decision that needs no I/O.

A job moves through phases; each phase is persisted before the work of the next one starts, so a
restarted station knows where it was (`resume_phase`). The FirmwareStatus values sent to the CSMS are
the spec's (L01/L02); the phase is what the station must remember, which is coarser.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

# When UpdateFirmware leaves them out, the station decides (L01, retries/retryInterval are optional).
DEFAULT_RETRIES = 2
DEFAULT_RETRY_INTERVAL_S = 30


class Phase(StrEnum):
    """Where a job stands; persisted with the job."""

    DOWNLOAD_SCHEDULED = "DownloadScheduled"  # waiting for retrieveDateTime
    DOWNLOADING = "Downloading"  # a partial image may be on disk: resumed with Range
    DOWNLOADED = "Downloaded"  # the whole image is on disk, not (or no longer) known to be genuine
    INSTALL_SCHEDULED = "InstallScheduled"  # verified, waiting for installDateTime or the last session
    INSTALLING = "Installing"  # the installer was started; its outcome is unknown until it returns
    REBOOTING = "InstallRebooting"  # installed; the next start reports Installed


class Status(StrEnum):
    """FirmwareStatusEnumType, the values this station sends."""

    Idle = "Idle"
    DownloadScheduled = "DownloadScheduled"
    Downloading = "Downloading"
    Downloaded = "Downloaded"
    DownloadFailed = "DownloadFailed"
    SignatureVerified = "SignatureVerified"
    InvalidSignature = "InvalidSignature"
    InstallScheduled = "InstallScheduled"
    Installing = "Installing"
    InstallRebooting = "InstallRebooting"
    Installed = "Installed"
    InstallationFailed = "InstallationFailed"
    InstallVerificationFailed = "InstallVerificationFailed"


# A job that reported one of these is over; TriggerMessage then answers Idle after Installed only.
FINAL = frozenset(
    {
        Status.DownloadFailed,
        Status.InvalidSignature,
        Status.Installed,
        Status.InstallationFailed,
        Status.InstallVerificationFailed,
    }
)


@dataclass(frozen=True)
class FirmwareJob:
    """One UpdateFirmware request and how far the station got with it."""

    request_id: int
    location: str
    retrieve_at: datetime
    install_at: datetime | None
    retries: int
    retry_interval_s: int
    signing_certificate: str | None
    signature: str | None
    phase: Phase = Phase.DOWNLOAD_SCHEDULED
    last_status: Status | None = None  # the last FirmwareStatus queued for the CSMS
    attempts: int = 0  # download attempts made (failed ones), persisted so a restart does not reset them

    @property
    def secure(self) -> bool:
        """L01 (signed) rather than L02: a signature or signing certificate came with the request."""
        return self.signing_certificate is not None or self.signature is not None

    def at(self, phase: Phase) -> FirmwareJob:
        return replace(self, phase=phase)

    def reported(self, status: Status) -> FirmwareJob:
        return replace(self, last_status=status)

    def failed_attempt(self) -> FirmwareJob:
        return replace(self, attempts=self.attempts + 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "location": self.location,
            "retrieve_at": self.retrieve_at.isoformat(),
            "install_at": self.install_at.isoformat() if self.install_at else None,
            "retries": self.retries,
            "retry_interval_s": self.retry_interval_s,
            "signing_certificate": self.signing_certificate,
            "signature": self.signature,
            "phase": self.phase.value,
            "last_status": self.last_status.value if self.last_status else None,
            "attempts": self.attempts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FirmwareJob:
        return cls(
            request_id=int(data["request_id"]),
            location=str(data["location"]),
            retrieve_at=datetime.fromisoformat(data["retrieve_at"]),
            install_at=datetime.fromisoformat(data["install_at"]) if data.get("install_at") else None,
            retries=int(data["retries"]),
            retry_interval_s=int(data["retry_interval_s"]),
            signing_certificate=data.get("signing_certificate"),
            signature=data.get("signature"),
            phase=Phase(data["phase"]),
            last_status=Status(data["last_status"]) if data.get("last_status") else None,
            attempts=int(data.get("attempts", 0)),
        )


def new_job(
    request_id: int,
    location: str,
    retrieve_at: datetime,
    install_at: datetime | None,
    retries: int | None,
    retry_interval_s: int | None,
    signing_certificate: str | None,
    signature: str | None,
) -> FirmwareJob:
    """A job for a request just accepted, with the station's defaults where the CSMS left values out."""
    return FirmwareJob(
        request_id=request_id,
        location=location,
        retrieve_at=retrieve_at,
        install_at=install_at,
        retries=DEFAULT_RETRIES if retries is None else max(0, retries),
        retry_interval_s=DEFAULT_RETRY_INTERVAL_S if retry_interval_s is None else max(0, retry_interval_s),
        signing_certificate=signing_certificate,
        signature=signature,
    )


def resume_phase(phase: Phase) -> Phase:
    """Where a job goes on after a restart (crash, power loss or the install's reboot).

    Whatever was verified before the restart is verified again: the file may have been touched since,
    and a check costs seconds. An install that was running when the station died is not known to have
    completed, so it is never reported Installed: the image is verified and installed again (the
    installers write a whole image or nothing, so a second run is safe)."""
    if phase in (Phase.INSTALL_SCHEDULED, Phase.INSTALLING):
        return Phase.DOWNLOADED
    return phase


class Answer(StrEnum):
    """UpdateFirmwareStatusEnumType values decided without I/O."""

    Accepted = "Accepted"
    AcceptedCanceled = "AcceptedCanceled"
    Rejected = "Rejected"


def answer_new_request(current: FirmwareJob | None) -> Answer:
    """L01.FR.24: a running update is cancelled for the new one (AcceptedCanceled); L01.FR.27: one that
    cannot be cancelled any more (the image is being written, or written and waiting for the reboot)
    makes the station refuse the new one."""
    if current is None or current.last_status in FINAL:
        return Answer.Accepted
    if current.phase in (Phase.INSTALLING, Phase.REBOOTING):
        return Answer.Rejected
    return Answer.AcceptedCanceled


def triggered_status(current: FirmwareJob | None) -> tuple[Status, int | None]:
    """What TriggerMessage(FirmwareStatusNotification) reports: Idle, without a requestId, when no update
    is under way or the last one ended Installed (L01.FR.25); otherwise the last status sent, with the
    requestId of its update (L01.FR.26)."""
    if current is None or current.last_status is None or current.last_status is Status.Installed:
        return Status.Idle, None
    return current.last_status, current.request_id


def seconds_until(now: datetime, moment: datetime | None) -> float:
    """How long to wait for retrieveDateTime / installDateTime; 0 for a moment already past."""
    if moment is None:
        return 0.0
    return max(0.0, (moment - now).total_seconds())


# retrieveDateTime/installDateTime closer than this are "now": the CSMS's clock and the station's (set from
# the CSMS's currentTime, to the millisecond) differ a little, and "now" must not become a schedule.
SCHEDULE_MARGIN_S = 1.0


def is_scheduled(now: datetime, moment: datetime | None) -> bool:
    """Whether `moment` is far enough ahead to report DownloadScheduled / InstallScheduled for it."""
    return seconds_until(now, moment) > SCHEDULE_MARGIN_S


def may_retry(job: FirmwareJob) -> bool:
    """Whether a failed download is tried again: `retries` more attempts after the first (L01.FR.09)."""
    return job.attempts <= job.retries


def unavailable_evses(
    evses_with_session: set[int], all_evses: set[int], allow_new_sessions: bool, installing: bool
) -> set[int]:
    """EVSEs to take out of service while an install is pending or running (L01.FR.06/07).

    A running session is never cut: its EVSE is left alone. While the install waits for sessions to end,
    the idle EVSEs go Unavailable unless AllowNewSessionsPendingFirmwareUpdate lets new sessions start;
    once the install runs (no session left), every EVSE is Unavailable."""
    if installing:
        return all_evses - evses_with_session
    if allow_new_sessions:
        return set()
    return all_evses - evses_with_session
