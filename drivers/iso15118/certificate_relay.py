"""The station's bookkeeping of the version 2 certificate messages on one module link.

Kept apart from :mod:`drivers.iso15118.link` (handshake, heartbeats, sessions) because its rules are
its own:

* A module repeats a request it has no answer to (after a HELLO, or when the station's answer was
  lost on the wire). A repeat of a request already reported is not reported again; a repeat of one
  already answered gets the same answer again, so the CSMS is asked once per request.
* Roots and the V2G chain are state, like the current limit: sent when they change and after every
  handshake, so a module that rebooted or missed a message holds them again within one handshake.
  So are the OCSP responses of the chain's Sub-CAs (version 3), for a module that speaks version 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from drivers.interfaces import DriverEvent, Iso15118CertificateRequested, Iso15118V2gCsrPresented
from drivers.iso15118.certificate_messages import (
    CertificateAction,
    EvCertificateRequest,
    EvCertificateResponse,
    RootCertificates,
    RootKind,
    V2gCertificateChain,
    V2gCsr,
)
from drivers.iso15118.messages import Message
from drivers.iso15118.ocsp_messages import V2gOcspResponses

_ACTIONS: Final = {CertificateAction.INSTALL: "Install", CertificateAction.UPDATE: "Update"}


class CertificateRelay:
    """Turns the module's certificate messages into events once, and keeps what the module must hold."""

    def __init__(self, evse_id: int) -> None:
        self._evse_id = evse_id
        self._requests: dict[int, EvCertificateRequest] = {}  # reported, by request id
        self._answers: dict[int, EvCertificateResponse] = {}  # given, by request id
        self._csr: str | None = None  # the last CSR reported
        self._roots: dict[RootKind, tuple[str, ...]] = {}
        self._chain: str | None = None
        self._ocsp: V2gOcspResponses | None = None  # None: never set, nothing to repeat

    def on_module_message(self, message: Message) -> tuple[list[DriverEvent], list[Message]]:
        """(events to report, messages to send back) for a certificate message from the module."""
        match message:
            case EvCertificateRequest(request_id, action, schema_version, exi):
                if self._requests.get(request_id) == message:
                    answer = self._answers.get(request_id)
                    return [], [answer] if answer is not None else []  # a repeat: answered or pending
                self._requests[request_id] = message  # a new request, or a reused id with new content
                self._answers.pop(request_id, None)
                event = Iso15118CertificateRequested(self._evse_id, request_id, _ACTIONS[action], schema_version, exi)
                return [event], []
            case V2gCsr(csr_pem):
                if csr_pem == self._csr:
                    return [], []
                self._csr = csr_pem
                return [Iso15118V2gCsrPresented(self._evse_id, csr_pem)], []
        return [], []

    def answer(self, request_id: int, accepted: bool, exi: bytes) -> EvCertificateResponse:
        """The response to send, remembered for a repeat of the request."""
        response = EvCertificateResponse(request_id, accepted, exi if accepted else b"")
        self._answers[request_id] = response
        return response

    def set_roots(self, v2g_roots: Sequence[str], mo_roots: Sequence[str]) -> list[Message]:
        """Remember the roots; the messages that hand them over."""
        self._roots = {RootKind.V2G: tuple(v2g_roots), RootKind.MO: tuple(mo_roots)}
        return self.roots_messages()

    def roots_messages(self) -> list[Message]:
        return [RootCertificates(kind, pems) for kind, pems in self._roots.items()]

    def set_chain(self, chain_pem: str) -> V2gCertificateChain:
        self._chain = chain_pem
        return V2gCertificateChain(chain_pem)

    def set_ocsp_responses(self, responses: V2gOcspResponses) -> None:
        self._ocsp = responses

    def after_handshake(self, module_version: int) -> list[Message]:
        """What a (re)connected module gets besides the limit: roots, its chain, then (version 3) its OCSP set."""
        chain: list[Message] = [V2gCertificateChain(self._chain)] if self._chain is not None else []
        ocsp: list[Message] = [self._ocsp] if self._ocsp is not None and module_version >= 3 else []
        return self.roots_messages() + chain + ocsp
