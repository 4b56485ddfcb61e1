"""The station's services as the 2.0.1 handlers offer them, asked by the 1.6 handlers.

Firmware updates, log uploads and the certificate store already have handlers that decide every answer
(evse/ocpp/v201/handlers/firmware.py, logs.py, certificates.py, station_certificate.py). The 1.6 handlers say
the 1.6 request in 2.0.1, ask the handler registered on a private router (never the connection's), and
say its answer in 1.6, so a rule lives in one place for both versions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from evse.ocpp.calls import OcppMessage
from evse.ocpp.rpc import Reply, Router, as_reply

Answer = TypeVar("Answer", bound=OcppMessage)
Then = Callable[[], Awaitable[None]] | None


class ServiceHandlers:
    """A router of 2.0.1 handlers the 1.6 adapter asks directly (no frame, no validation: its own requests)."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def ask(self, request: OcppMessage, answer_type: type[Answer]) -> tuple[Answer, Then]:
        """The 2.0.1 handler's answer to `request` and the work it wants done once the answer has left."""
        found = self.router.lookup(request.ACTION)
        if found is None:
            raise LookupError(f"no 2.0.1 handler for {request.ACTION}")
        outcome = as_reply(await found[1](request))
        assert isinstance(outcome.payload, answer_type)
        return outcome.payload, outcome.then


def reply(payload: OcppMessage, then: Then) -> OcppMessage | Reply:
    """`payload` alone, or with the work to do after it has left."""
    return payload if then is None else Reply(payload, then=then)
