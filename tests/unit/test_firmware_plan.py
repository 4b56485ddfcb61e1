"""The pure firmware update plan: answers to a new request, TriggerMessage status, resume after restart,
retries and which EVSEs an install takes out of service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evse.firmware.update_plan import (
    DEFAULT_RETRIES,
    Answer,
    FirmwareJob,
    Phase,
    Status,
    answer_new_request,
    is_scheduled,
    may_retry,
    new_job,
    resume_phase,
    seconds_until,
    triggered_status,
    unavailable_evses,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def job(**changes: object) -> FirmwareJob:
    base = new_job(7, "http://127.0.0.1/fw.bin", NOW, None, 1, 5, None, None)
    data = {**base.to_json(), **{k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}}
    return FirmwareJob.from_json(data)


def test_a_job_survives_its_json_form_unchanged() -> None:
    original = new_job(9, "https://x/y", NOW, NOW + timedelta(hours=1), None, None, "PEM", "c2ln")
    assert FirmwareJob.from_json(original.to_json()) == original
    assert original.retries == DEFAULT_RETRIES and original.secure


def test_no_update_or_a_finished_one_accepts_a_new_request() -> None:
    assert answer_new_request(None) is Answer.Accepted
    assert answer_new_request(job(last_status=Status.DownloadFailed)) is Answer.Accepted
    assert answer_new_request(job(last_status=Status.Installed, phase=Phase.REBOOTING)) is Answer.Accepted


@pytest.mark.parametrize(
    "phase", [Phase.DOWNLOAD_SCHEDULED, Phase.DOWNLOADING, Phase.DOWNLOADED, Phase.INSTALL_SCHEDULED]
)
def test_L01_FR_24_a_running_update_is_cancelled_for_a_new_one(phase: Phase) -> None:
    assert answer_new_request(job(phase=phase, last_status=Status.Downloading)) is Answer.AcceptedCanceled


@pytest.mark.parametrize("phase", [Phase.INSTALLING, Phase.REBOOTING])
def test_L01_FR_27_an_install_under_way_cannot_be_cancelled(phase: Phase) -> None:
    assert answer_new_request(job(phase=phase, last_status=Status.Installing)) is Answer.Rejected


def test_L01_FR_25_trigger_answers_idle_without_request_id_when_nothing_runs_or_after_installed() -> None:
    assert triggered_status(None) == (Status.Idle, None)
    assert triggered_status(job()) == (Status.Idle, None)  # accepted, nothing reported yet
    assert triggered_status(job(last_status=Status.Installed)) == (Status.Idle, None)


def test_L01_FR_26_trigger_answers_the_last_status_with_its_request_id() -> None:
    assert triggered_status(job(last_status=Status.Downloading)) == (Status.Downloading, 7)
    assert triggered_status(job(last_status=Status.InvalidSignature)) == (Status.InvalidSignature, 7)


def test_a_restart_verifies_again_whatever_was_verified_and_never_trusts_an_interrupted_install() -> None:
    assert resume_phase(Phase.DOWNLOADING) is Phase.DOWNLOADING
    assert resume_phase(Phase.DOWNLOADED) is Phase.DOWNLOADED
    assert resume_phase(Phase.INSTALL_SCHEDULED) is Phase.DOWNLOADED
    assert resume_phase(Phase.INSTALLING) is Phase.DOWNLOADED
    assert resume_phase(Phase.REBOOTING) is Phase.REBOOTING


def test_L01_FR_09_retries_counts_the_attempts_after_the_first() -> None:
    attempt = job(retries=2)
    outcomes = []
    for _ in range(4):
        attempt = attempt.failed_attempt()
        outcomes.append(may_retry(attempt))
    assert outcomes == [True, True, False, False]
    assert not may_retry(job(retries=0).failed_attempt())


def test_waits_for_moments_in_the_future_only() -> None:
    assert seconds_until(NOW, NOW + timedelta(seconds=90)) == 90
    assert seconds_until(NOW, NOW - timedelta(seconds=90)) == 0
    assert seconds_until(NOW, None) == 0
    assert is_scheduled(NOW, NOW + timedelta(seconds=5))
    assert not is_scheduled(NOW, NOW + timedelta(milliseconds=5))  # clock skew, not a schedule


def test_L01_FR_07_idle_evses_go_unavailable_while_the_install_waits_unless_new_sessions_are_allowed() -> None:
    evses = {1, 2, 3}
    assert unavailable_evses({1}, evses, allow_new_sessions=False, installing=False) == {2, 3}
    assert unavailable_evses({1}, evses, allow_new_sessions=True, installing=False) == set()
    # Installing (no session is left by then): everything is out of service, a session is never cut.
    assert unavailable_evses(set(), evses, allow_new_sessions=True, installing=True) == evses
    assert unavailable_evses({2}, evses, allow_new_sessions=True, installing=True) == {1, 3}
