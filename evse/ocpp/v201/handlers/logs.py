"""GetLog (N01): the answer, with the file name; the upload itself is a job of evse.logs.retrieval."""

from __future__ import annotations

import logging

from evse.logs.retrieval import LogRetrieval
from evse.logs.upload import UnsupportedScheme
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m

log = logging.getLogger(__name__)


def register(router: Router, retrieval: LogRetrieval) -> None:
    """Attach GetLog. Accepted, or AcceptedCanceled when it replaces a running upload (cancelled at once);
    Rejected for a location whose scheme this station cannot upload to (only http and https)."""

    async def get_log(request: m.GetLogRequest) -> m.GetLogResponse | Reply:
        try:
            job = retrieval.job_for(request)
        except UnsupportedScheme as exc:
            log.info("GetLog request=%s rejected: %s", request.requestId, exc)
            return m.GetLogResponse(
                status=m.LogStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode="UnsupportedRequest", additionalInfo=str(exc)[:512]),
            )
        canceled = retrieval.cancel_ongoing()
        status = m.LogStatusEnumType.AcceptedCanceled if canceled is not None else m.LogStatusEnumType.Accepted
        log.info(
            "GetLog request=%s type=%s -> %s file=%s", job.request_id, job.log_type.value, status.value, job.filename
        )

        async def begin() -> None:  # after the CSMS has its answer, so the notifications follow it
            retrieval.start(job, canceled)

        return Reply(m.GetLogResponse(status=status, filename=job.filename), then=begin)

    router.register(m.GetLogRequest, get_log)
