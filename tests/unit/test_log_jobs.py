"""What a GetLog becomes before anything is read or sent: the job, its defaults, its file name."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evse.logs.retrieval import DEFAULT_RETRIES, DEFAULT_RETRY_INTERVAL, LogRetrieval, LogSources
from evse.logs.scrub import Scrubber
from evse.logs.upload import UnsupportedScheme
from evse.ocpp.v201 import messages as m
from evse.security.security_log import SecurityLog


class FixedClock:
    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return datetime(2026, 12, 1, 17, 0, 5, tzinfo=UTC)

    def set_now(self, utc: datetime) -> None:
        raise AssertionError("not used")


def retrieval(sent: list[m.LogStatusNotificationRequest], station_id: str = "CS001") -> LogRetrieval:
    state = Path("/nonexistent-state")  # nothing here touches the disk
    return LogRetrieval(
        station_id,
        LogSources(state, SecurityLog(state / "security.log")),
        Scrubber(),
        sent.append,
        FixedClock(),
        tls=ssl.create_default_context,
    )


def request(location: str, **extra: Any) -> m.GetLogRequest:
    return m.GetLogRequest.model_validate(
        {"logType": "SecurityLog", "requestId": 9, "log": {"remoteLocation": location}, **extra}
    )


def test_defaults_when_the_csms_leaves_retries_out() -> None:
    job = retrieval([]).job_for(request("http://127.0.0.1/logs/"))
    assert (job.retries, job.retry_interval) == (DEFAULT_RETRIES, DEFAULT_RETRY_INTERVAL)
    assert job.filename == "CS001-SecurityLog-9-20261201T170005Z.tar.gz"
    assert job.target is not None and job.target.path == f"/logs/{job.filename}"


def test_the_csms_values_are_taken_and_negative_ones_clamped() -> None:
    job = retrieval([]).job_for(request("http://127.0.0.1/x", retries=0, retryInterval=5))
    assert (job.retries, job.retry_interval) == (0, 5.0)
    job = retrieval([]).job_for(request("http://127.0.0.1/x", retries=-3, retryInterval=-1))
    assert (job.retries, job.retry_interval) == (0, 0.0)


def test_the_file_name_is_safe_whatever_the_station_id() -> None:
    job = retrieval([], station_id="ACME*WB|2@site").job_for(request("http://127.0.0.1/"))
    assert job.filename.startswith("ACME_WB_2_site-SecurityLog-9-")


def test_an_unsupported_scheme_is_for_rejecting_a_bad_url_for_bad_message() -> None:
    with pytest.raises(UnsupportedScheme):
        retrieval([]).job_for(request("ftp://127.0.0.1/logs/"))
    job = retrieval([]).job_for(request("http://"))
    assert job.target is None and job.bad_location


def test_triggered_status_without_an_upload_is_idle_without_request_id() -> None:
    status = retrieval([]).triggered_status()
    assert status.status is m.UploadLogStatusEnumType.Idle and status.requestId is None


def test_a_replaced_job_is_reported_accepted_canceled_before_the_new_one_runs() -> None:
    sent: list[m.LogStatusNotificationRequest] = []
    logs = retrieval(sent)
    old, new = logs.job_for(request("http://127.0.0.1/a")), logs.job_for(request("http://127.0.0.1/b", requestId=10))
    logs.start(new, canceled=old)
    assert [(s.status.value, s.requestId) for s in sent] == [("AcceptedCanceled", 9)]
