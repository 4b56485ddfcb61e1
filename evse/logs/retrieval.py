"""N01 Retrieve Log Information: one GetLog at a time, from the selected entries to LogStatusNotification.

A job: LogStatusNotification Uploading; the entries of the asked log (DiagnosticsLog: the diagnostics log
files; SecurityLog: the security log) in [oldestTimestamp, latestTimestamp], scrubbed and packed as tar.gz
in ``<state_dir>/log-uploads/``; up to 1 + ``retries`` upload attempts ``retryInterval`` seconds apart;
then Uploaded, or the status of the last failure (UploadFailure, PermissionDenied, BadMessage,
NotSupportedOperation). Every notification carries the GetLog's requestId and goes through the outbox,
so a status reached during an outage still arrives, in order.

A second GetLog while one runs cancels it at once (its socket is closed, nothing more is sent for it),
then, after the GetLogResponse AcceptedCanceled, LogStatusNotification AcceptedCanceled for the old
requestId precedes the new job's Uploading. A job cut by a restart is reported UploadFailure at the next
start (its requestId is kept in a small file while it runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evse.clock import Clock
from evse.logs.diagnostics_file import DiagnosticsFile, log_files
from evse.logs.packing import json_lines, pack
from evse.logs.scrub import Scrubber
from evse.logs.selection import select_lines, select_records
from evse.logs.upload import BadLocation, Outcome, Result, Target, parse_location, upload
from evse.ocpp.v201 import messages as m
from evse.security.security_log import SecurityLog

log = logging.getLogger(__name__)

#: When the GetLog leaves them out: one retry, a minute apart (the spec leaves both to the station).
DEFAULT_RETRIES = 1
DEFAULT_RETRY_INTERVAL = 60.0
#: One attempt, connection to answer; a log of a few MiB on a slow uplink fits easily.
ATTEMPT_TIMEOUT = 300.0
WORK_DIR = "log-uploads"
_ONGOING = "ongoing.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class LogJob:
    """One accepted GetLog."""

    request_id: int
    log_type: m.LogEnumType
    filename: str
    target: Target | None  # None: the location was unusable, the job only reports BadMessage
    bad_location: str | None
    oldest: datetime | None
    latest: datetime | None
    retries: int
    retry_interval: float


@dataclass(frozen=True)
class LogSources:
    """Where the two logs are read from."""

    state_dir: Path
    security_log: SecurityLog
    diagnostics_file: DiagnosticsFile | None = None  # flushed before reading, when the daemon writes one


class LogRetrieval:
    """Runs GetLog jobs one at a time (`run` is a long-lived task of the daemon)."""

    def __init__(
        self,
        station_id: str,
        sources: LogSources,
        scrubber: Scrubber,
        send: Callable[[m.LogStatusNotificationRequest], None],
        clock: Clock,
        *,
        tls: Callable[[], ssl.SSLContext],
        refresh_secrets: Callable[[Scrubber], None] = lambda scrubber: None,
    ) -> None:
        self._station_id = station_id
        self._sources = sources
        self._scrubber = scrubber
        self._send = send
        self._clock = clock
        self._tls = tls
        self._refresh_secrets = refresh_secrets
        self._jobs: asyncio.Queue[LogJob] = asyncio.Queue()
        self._current: LogJob | None = None
        self._task: asyncio.Task[None] | None = None
        self.attempt_timeout = ATTEMPT_TIMEOUT

    @property
    def work_dir(self) -> Path:
        return self._sources.state_dir / WORK_DIR

    # ---- the GetLog handler's side ------------------------------------------------------------------
    def job_for(self, request: m.GetLogRequest) -> LogJob:
        """The job a GetLog asks for; UnsupportedScheme (a BadLocation) when it must be Rejected."""
        filename = self.filename(request.logType, request.requestId)
        target: Target | None = None
        bad: str | None = None
        try:
            target = parse_location(request.log.remoteLocation, filename)
        except BadLocation as exc:
            if type(exc) is not BadLocation:
                raise
            bad = str(exc)
        return LogJob(
            request_id=request.requestId,
            log_type=request.logType,
            filename=filename,
            target=target,
            bad_location=bad,
            oldest=request.log.oldestTimestamp,
            latest=request.log.latestTimestamp,
            retries=max(0, DEFAULT_RETRIES if request.retries is None else request.retries),
            retry_interval=max(0.0, DEFAULT_RETRY_INTERVAL if request.retryInterval is None else request.retryInterval),
        )

    def filename(self, log_type: m.LogEnumType, request_id: int) -> str:
        stamp = self._clock.now().strftime("%Y%m%dT%H%M%SZ")
        return f"{_UNSAFE.sub('_', self._station_id)}-{log_type.value}-{request_id}-{stamp}.tar.gz"

    def cancel_ongoing(self) -> LogJob | None:
        """Cancel the running job now (a new GetLog came); the job cancelled, if any."""
        job, task = self._current, self._task
        if job is None or task is None or task.done():
            return None
        task.cancel()
        self._current = None
        return job

    def start(self, job: LogJob, canceled: LogJob | None = None) -> None:
        """Queue `job`; first report `canceled` (the job it replaced) as AcceptedCanceled."""
        if canceled is not None:
            self._notify(m.UploadLogStatusEnumType.AcceptedCanceled, canceled.request_id)
        self._jobs.put_nowait(job)

    def triggered_status(self) -> m.LogStatusNotificationRequest:
        """TriggerMessage(LogStatusNotification): Uploading with the requestId while a job runs, else Idle
        without one (F06.FR.15)."""
        job = self._current
        if job is None:
            return m.LogStatusNotificationRequest(status=m.UploadLogStatusEnumType.Idle)
        return m.LogStatusNotificationRequest(status=m.UploadLogStatusEnumType.Uploading, requestId=job.request_id)

    # ---- the daemon's side --------------------------------------------------------------------------
    def recover(self) -> None:
        """A job a restart cut short: its outcome is UploadFailure (nothing is resumed)."""
        marker = self.work_dir / _ONGOING
        try:
            text = marker.read_text()
        except (FileNotFoundError, NotADirectoryError):
            return  # no job was running (or no state_dir at all: a degraded boot)
        except OSError as exc:
            log.warning("log upload marker %s unreadable: %s", marker, exc)
            return
        try:
            request_id = int(json.loads(text)["requestId"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("log upload marker %s unreadable: %s", marker, exc)
            request_id = None
        if request_id is not None:
            log.info("log upload request=%s was cut by a restart: UploadFailure", request_id)
            self._notify(m.UploadLogStatusEnumType.UploadFailure, request_id)
        try:
            self._clear_work_dir()
            marker.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("log upload leftovers not removed from %s: %s", self.work_dir, exc)

    async def run(self) -> None:
        """Carry out the queued jobs one after the other; never returns."""
        while True:
            job = await self._jobs.get()
            self._current = job
            self._task = asyncio.create_task(self._carry_out(job), name=f"getlog-{job.request_id}")
            try:
                await asyncio.wait({self._task})
            finally:
                if not self._task.done():  # run itself was cancelled: the daemon is stopping
                    self._task.cancel()
            if not self._task.cancelled() and (error := self._task.exception()) is not None:
                log.error("log upload request=%s failed", job.request_id, exc_info=error)
                self._notify(m.UploadLogStatusEnumType.UploadFailure, job.request_id)
                self._forget(job)
            if self._current is job:
                self._current = None

    async def _carry_out(self, job: LogJob) -> None:
        self._remember(job)
        try:
            await self._upload_job(job)
        except asyncio.CancelledError:
            # Replaced by a new GetLog (which reports AcceptedCanceled) or the daemon stops (the marker
            # stays, so the next start reports the outcome).
            log.info("log upload request=%s canceled", job.request_id)
            raise

    async def _upload_job(self, job: LogJob) -> None:
        self._notify(m.UploadLogStatusEnumType.Uploading, job.request_id)
        if job.target is None:
            log.warning("log upload request=%s: %s", job.request_id, job.bad_location)
            self._finish(job, m.UploadLogStatusEnumType.BadMessage)
            return
        self._refresh_secrets(self._scrubber)
        archive = self.work_dir / job.filename
        try:
            try:
                self._clear_work_dir()
                await asyncio.to_thread(self._pack, job, archive)
            except OSError as exc:
                log.error("log upload request=%s: packing failed: %s", job.request_id, exc)
                self._finish(job, m.UploadLogStatusEnumType.UploadFailure)
                return
            result = await self._attempts(job, job.target, archive)
        finally:
            with contextlib.suppress(OSError):  # a card gone read-only keeps it; the next job clears it
                archive.unlink(missing_ok=True)
        self._finish(job, m.UploadLogStatusEnumType(result.outcome.status))

    async def _attempts(self, job: LogJob, target: Target, archive: Path) -> Result:
        context = self._tls() if target.scheme == "https" else None
        if context is not None and not context.cert_store_stats().get("x509_ca"):
            # Every attempt will fail verification: say why once, in words a technician can act on.
            log.warning("log upload request=%s: no CSMS root certificate to verify %s", job.request_id, target.host)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(self.attempt_timeout):
                    result = await upload(target, archive, job.filename, context)
            except TimeoutError:
                result = Result(Outcome.FAILED, f"no answer within {self.attempt_timeout:.0f}s")
            log.info(
                "log upload request=%s attempt=%s to=%s: %s (%s)",
                job.request_id, attempt, target.url, result.outcome.status, result.detail,
            )  # fmt: skip
            if not result.outcome.retry or attempt > job.retries:
                return result
            await asyncio.sleep(job.retry_interval)

    def _pack(self, job: LogJob, archive: Path) -> None:
        """Blocking: select and pack (in a thread)."""
        members: dict[str, Iterable[str]]
        if job.log_type is m.LogEnumType.SecurityLog:
            members = {"security.log": json_lines(select_records(self._security_records(), job.oldest, job.latest))}
        else:
            if self._sources.diagnostics_file is not None:
                self._sources.diagnostics_file.flush()
            lines = select_lines(_lines(log_files(self._sources.state_dir)), job.oldest, job.latest)
            members = {"evse.log": lines}
        pack(archive, members, self._scrubber)
        log.info("log upload request=%s packed %s bytes=%s", job.request_id, archive.name, archive.stat().st_size)

    def _security_records(self) -> Iterator[dict[str, Any]]:
        """The security log's records, oldest first; a line cut by a power loss is skipped, not fatal."""
        security = self._sources.security_log
        for line in _lines([security.rotated, security.path]):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record

    def _finish(self, job: LogJob, status: m.UploadLogStatusEnumType) -> None:
        if self._current is job:  # from here a triggered LogStatusNotification says Idle, not Uploading
            self._current = None
        self._notify(status, job.request_id)
        self._forget(job)

    def _notify(self, status: m.UploadLogStatusEnumType, request_id: int) -> None:
        self._send(m.LogStatusNotificationRequest(status=status, requestId=request_id))

    def _remember(self, job: LogJob) -> None:
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            (self.work_dir / _ONGOING).write_text(json.dumps({"requestId": job.request_id}))
        except OSError as exc:
            log.warning("log upload marker not written: %s", exc)

    def _clear_work_dir(self) -> None:
        """What a cancelled job's packing thread finished writing after its job was gone."""
        for leftover in self.work_dir.glob("*"):
            if leftover.name != _ONGOING:
                leftover.unlink(missing_ok=True)

    def _forget(self, job: LogJob) -> None:
        try:
            (self.work_dir / _ONGOING).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("log upload marker not removed: %s", exc)


def _lines(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        try:
            with path.open(encoding="utf-8", errors="replace") as file:
                yield from file
        except FileNotFoundError:
            continue  # rotated away between listing and reading
