"""The shell of a firmware update: runs one job at a time through download, verification and install,
persisting each phase before its work starts and reporting each status to the CSMS through the outbox.

Statuses go through the durable outbox, in order, so they arrive once the CSMS is reachable and after a
reboot too (Installed follows the BootNotification with reason FirmwareUpdate). A new request cancels
the running job (AcceptedCanceled): its task is cancelled and waited for before the new one starts.
Sessions are never cut: the install waits for the last one to end, with idle EVSEs Unavailable meanwhile
unless AllowNewSessionsPendingFirmwareUpdate allows new sessions (L01.FR.06/07).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from evse.clock import Clock
from evse.firmware.download import DownloadTarget, download
from evse.firmware.errors import DownloadError, InstallFailed
from evse.firmware.installers import Installer
from evse.firmware.job_store import JobStore
from evse.firmware.update_plan import (
    FINAL,
    Answer,
    FirmwareJob,
    Phase,
    Status,
    answer_new_request,
    is_scheduled,
    may_retry,
    resume_phase,
    seconds_until,
    triggered_status,
    unavailable_evses,
)
from evse.ocpp.v201 import messages as m
from evse.security.events import SecurityEvents
from evse.station.core import evse_fsm as fsm

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)

SESSION_POLL_S = 0.5  # the station has no "last session ended" event: its state is looked at


class FirmwareUpdater:
    """One per daemon: the UpdateFirmware handler hands it jobs, the daemon's TaskGroup runs `run`."""

    def __init__(
        self,
        station: Station,
        store: JobStore,
        installer: Installer,
        security: SecurityEvents,
        clock: Clock,
        *,
        image_dir: Path,
        max_image_bytes: int,
        manufacturer_roots: Callable[[], list[Path]],
        tls_context: Callable[[], ssl.SSLContext],
    ) -> None:
        self._station = station
        self._store = store
        self._installer = installer
        self._security = security
        self._clock = clock
        self._image_dir = image_dir
        self._max_image_bytes = max_image_bytes
        self._roots = manufacturer_roots
        self._tls = tls_context
        self._job: FirmwareJob | None = store.load()
        self._task: asyncio.Task[None] | None = None
        self._held: set[int] = set()  # EVSEs this update took out of service
        self._wake = asyncio.Event()

    # ---- what the handlers ask -------------------------------------------------------------------
    def triggered(self) -> m.FirmwareStatusNotificationRequest:
        """TriggerMessage(FirmwareStatusNotification): L01.FR.25/26."""
        status, request_id = triggered_status(self._job)
        return m.FirmwareStatusNotificationRequest(status=m.FirmwareStatusEnumType(status.value), requestId=request_id)

    def check_signing_certificate(self, pem: str) -> str | None:
        """Why the signing certificate is not trusted (L01.FR.22), None when it chains to a manufacturer root."""
        from evse.security.firmware_signature import (
            SigningCertificateInvalid,
            load_roots,
            verify_signing_certificate,
        )

        try:
            verify_signing_certificate(pem, load_roots(self._roots()), self._clock.now())
        except SigningCertificateInvalid as exc:
            return str(exc)
        return None

    def decide(self) -> Answer:
        return answer_new_request(self._job)

    def accept(self, job: FirmwareJob) -> None:
        """Persist the new job (it replaces any other) before the CSMS hears Accepted; `start` runs it."""
        self._store.save(job)
        self._job = job

    def start(self) -> None:
        """Begin (or cancel the running job and begin) the persisted job; called once the answer has left."""
        self._wake.set()

    # ---- the long-lived task ---------------------------------------------------------------------
    async def run(self) -> None:
        """Resume what a restart interrupted, then carry out each accepted job; never returns."""
        self._wake.set()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._task is not None and not self._task.done():
                    self._task.cancel()
                    await asyncio.wait([self._task])
                job = self._job
                if job is not None and job.last_status not in FINAL:
                    self._task = asyncio.create_task(self._carry_out(job))
        finally:
            if self._task is not None and not self._task.done():
                self._task.cancel()
                await asyncio.wait([self._task])

    async def _carry_out(self, job: FirmwareJob) -> None:
        log.info("firmware update request=%s phase=%s location=%s", job.request_id, job.phase, job.location)
        rebooting = False
        try:
            rebooting = await self._steps(job)
        except asyncio.CancelledError:
            log.info("firmware update request=%s cancelled", job.request_id)
            raise
        except Exception:
            # A bug or a refused write must not leave the EVSEs out of service or stop charging control:
            # the update ends with the failure of the step it was in.
            log.exception("firmware update request=%s failed unexpectedly", job.request_id)
            current = self._current(job)
            downloading = current.phase in (Phase.DOWNLOAD_SCHEDULED, Phase.DOWNLOADING)
            try:
                self._report(current, Status.DownloadFailed if downloading else Status.InstallationFailed)
            except Exception:  # the disk refuses this too: the persisted phase is resumed at the next start
                log.exception("firmware update request=%s: its failure could not be recorded", job.request_id)
        finally:
            if not rebooting:
                self._release_evses()

    def _current(self, job: FirmwareJob) -> FirmwareJob:
        return self._job if self._job is not None and self._job.request_id == job.request_id else job

    async def _steps(self, job: FirmwareJob) -> bool:
        """The update from wherever `job` stands; True when the station is now rebooting into the image."""
        phase = resume_phase(job.phase)
        if phase is Phase.REBOOTING:
            await self._after_reboot(job)
            return False
        image = self._image_path(job)
        if phase is Phase.DOWNLOAD_SCHEDULED:
            self._remove_other_images(image)
            if is_scheduled(self._clock.now(), job.retrieve_at):  # L01.FR.13
                if job.last_status is not Status.DownloadScheduled:  # not again after a restart
                    job = self._report(job, Status.DownloadScheduled)
                await self._sleep_until(job)
            phase = Phase.DOWNLOADING
        if phase is Phase.DOWNLOADING:
            downloaded = await self._download(job, image)
            if downloaded is None:
                return False
            job = downloaded
        elif not image.exists():
            # The image of a verified job is gone (card replaced, cleaned by hand): fetch it again.
            log.warning("firmware image %s missing after restart: downloading again", image)
            downloaded = await self._download(job.at(Phase.DOWNLOADING), image)
            if downloaded is None:
                return False
            job = downloaded
        job = job.at(Phase.DOWNLOADED)
        if job.secure and not await self._verify(job, image):
            return False
        return await self._install(job, image)

    # ---- download --------------------------------------------------------------------------------
    async def _download(self, job: FirmwareJob, image: Path) -> FirmwareJob | None:
        """Download with retries (L01.FR.09 retries/retryInterval); the job at Downloaded, or None after
        DownloadFailed."""
        image.parent.mkdir(parents=True, exist_ok=True)
        target = DownloadTarget(
            url=job.location,
            path=image,
            max_bytes=self._max_image_bytes,
            tls=self._tls() if job.location.startswith("https:") else None,
        )
        while True:
            job = self._report(job, Status.Downloading, Phase.DOWNLOADING)
            try:
                size = await download(target, _progress(job.request_id))
            except DownloadError as exc:
                job = self._save(job.failed_attempt())
                log.warning("firmware download request=%s attempt=%s failed: %s", job.request_id, job.attempts, exc)
                if exc.retryable and may_retry(job):
                    await asyncio.sleep(job.retry_interval_s)
                    continue
                _discard(image)
                self._report(job, Status.DownloadFailed, info=str(exc))
                return None
            log.info("firmware downloaded request=%s bytes=%s", job.request_id, size)
            return self._report(job, Status.Downloaded, Phase.DOWNLOADED)

    # ---- verification ----------------------------------------------------------------------------
    async def _verify(self, job: FirmwareJob, image: Path) -> bool:
        """L01: the signing certificate again (roots may have changed), then the signature over the image."""
        from evse.security import firmware_signature as fs

        try:
            if job.signing_certificate is None or job.signature is None:
                raise fs.FirmwareSignatureInvalid("a signed update needs both signingCertificate and signature")
            roots = await asyncio.to_thread(fs.load_roots, self._roots())
            signer = fs.verify_signing_certificate(job.signing_certificate, roots, self._clock.now())
            await asyncio.to_thread(fs.verify_image_signature, image, job.signature, signer)
        except (fs.SigningCertificateInvalid, fs.FirmwareSignatureInvalid) as exc:
            log.warning("firmware request=%s signature invalid: %s", job.request_id, exc)
            event = (
                "InvalidFirmwareSigningCertificate"
                if isinstance(exc, fs.SigningCertificateInvalid)
                else "InvalidFirmwareSignature"
            )
            self._security.report(event, f"requestId {job.request_id}: {exc}")  # L01.FR.03
            _discard(image)
            self._report(job, Status.InvalidSignature, info=str(exc))
            return False
        self._report(job, Status.SignatureVerified, Phase.DOWNLOADED)
        return True

    # ---- install ---------------------------------------------------------------------------------
    async def _install(self, job: FirmwareJob, image: Path) -> bool:
        station = self._station
        if is_scheduled(self._clock.now(), job.install_at) or station.has_transaction():
            job = self._report(job, Status.InstallScheduled, Phase.INSTALL_SCHEDULED)  # L01.FR.11/12
            await self._sleep_until(job, install=True)
        while station.has_transaction():
            self._hold_evses(installing=False)
            await asyncio.sleep(SESSION_POLL_S)
        self._hold_evses(installing=True)
        job = self._report(job, Status.Installing, Phase.INSTALLING)
        try:
            await self._installer.install(image)
        except InstallFailed as exc:
            log.error("firmware install request=%s failed: %s", job.request_id, exc)
            status = Status.InstallVerificationFailed if exc.verification else Status.InstallationFailed
            _discard(image)
            self._report(job, status, info=str(exc))
            return False
        # L01.FR.15: reported before the restart; Installed follows from the new boot.
        self._report(job, Status.InstallRebooting, Phase.REBOOTING)
        station.journal.set_boot_reason("FirmwareUpdate")
        station.reset_reason = "FirmwareUpdate"
        station.reset_requested.set()
        return True

    async def _after_reboot(self, job: FirmwareJob) -> None:
        """Installed, for the same requestId, once the new boot is accepted (after its StatusNotifications)."""
        await self._station.registrar.accepted.wait()
        _discard(self._image_path(job))
        version = self._station.settings.station.firmware_version or "unknown"
        self._report(job, Status.Installed)
        self._security.report("FirmwareUpdated", f"requestId {job.request_id}: running {version}")  # L01.FR.31

    # ---- helpers ---------------------------------------------------------------------------------
    def _report(
        self, job: FirmwareJob, status: Status, phase: Phase | None = None, *, info: str | None = None
    ) -> FirmwareJob:
        """Queue the status (L01.FR.01, with the requestId: L01.FR.20), then persist the job: a crash in
        between repeats a status rather than losing one."""
        self._station.messages.enqueue(
            m.FirmwareStatusNotificationRequest(status=m.FirmwareStatusEnumType(status.value), requestId=job.request_id)
        )
        # FirmwareStatusNotification of 2.0.1 has no statusInfo: the why is in the log (and GetLog).
        log.info("firmware request=%s status=%s%s", job.request_id, status.value, f" why={info}" if info else "")
        updated = job.reported(status)
        return self._save(updated.at(phase) if phase is not None else updated)

    def _save(self, job: FirmwareJob) -> FirmwareJob:
        if self._job is None or self._job.request_id == job.request_id:
            self._store.save(job)
            self._job = job
        return job

    async def _sleep_until(self, job: FirmwareJob, *, install: bool = False) -> None:
        moment = job.install_at if install else job.retrieve_at
        # In short steps of the wall clock: the CSMS may set the station's time meanwhile.
        while (left := seconds_until(self._clock.now(), moment)) > 0:  # noqa: ASYNC110 - a clock, not an event
            await asyncio.sleep(min(left, 1.0))

    def _hold_evses(self, *, installing: bool) -> None:
        station = self._station
        with_session = {i for i, r in station.evses.items() if r.state.tx is not None}
        allow = station.dm.get_bool("ChargingStation", "AllowNewSessionsPendingFirmwareUpdate")
        for evse_id in sorted(unavailable_evses(with_session, set(station.evses), allow, installing) - self._held):
            station.apply(evse_id, fsm.OperativeChanged(False))
            self._held.add(evse_id)
        if not allow:
            for evse_id in with_session - self._held:
                # Unavailable as soon as its session ends (the path of a Scheduled ChangeAvailability).
                station.evses[evse_id].pending_operative = False
                self._held.add(evse_id)

    def _release_evses(self) -> None:
        station = self._station
        for evse_id in sorted(self._held):
            runtime = station.evses[evse_id]
            if runtime.state.tx is not None:
                runtime.pending_operative = None
                continue
            station.apply(evse_id, fsm.OperativeChanged(station.availability.effective_operative(evse_id)))
        self._held.clear()

    def _image_path(self, job: FirmwareJob) -> Path:
        return self._image_dir / f"request-{job.request_id}.img"

    def _remove_other_images(self, keep: Path) -> None:
        if self._image_dir.is_dir():
            for path in self._image_dir.iterdir():
                if path != keep:
                    path.unlink(missing_ok=True)


def _progress(request_id: int) -> Callable[[int, int | None], None]:
    def report(size: int, total: int | None) -> None:
        share = f" ({100 * size // total}%)" if total else ""
        log.info("firmware download request=%s bytes=%s%s", request_id, size, share)

    return report


def _discard(path: Path) -> None:
    """Remove an image that will not be installed (state_dir is small); a missing one is fine."""
    path.unlink(missing_ok=True)
