"""A CALL to the CSMS as its callers see it: the message, the answer, and how it can fail.

Apart from the RPC session (evse/ocpp/rpc.py) so that code which only sends CALLs through a `CallSender`
(the station, evse/station) depends on no session, dialect or schema.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Self, TypeVar

from evse.errors import EvseError


class OcppMessage(Protocol):
    """A generated request or response model of either version (evse/ocpp/v201 or v16 messages)."""

    ACTION: ClassVar[str]

    @classmethod
    def model_validate(cls, obj: Any) -> Self: ...

    def model_dump_json(self, *, exclude_none: bool = ...) -> str: ...

    def model_dump(self, *, mode: str = ..., exclude_none: bool = ...) -> dict[str, Any]: ...


Req = TypeVar("Req", bound=OcppMessage)
Resp = TypeVar("Resp", bound=OcppMessage)


class CallError(EvseError):
    """A CALLERROR: raised by a handler to answer with one, or by `call` when the peer answered one."""

    def __init__(self, code: str, description: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.details = details or {}


class CallTimeout(EvseError):
    """The peer did not answer a CALL within MessageTimeout."""


class NotConnected(EvseError):
    """No websocket is up, or it went down while a CALL was outstanding."""


class CallSender(Protocol):
    """Whatever can send a CALL to the CSMS and return its typed answer."""

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp: ...
