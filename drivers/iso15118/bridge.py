"""What both ISO 15118 bridges (CAN and serial) offer the station: the same commands on a ModuleLink.

The transports differ; everything above them is the link's. Each bridge builds its `_link` in its
constructor and inherits these.
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.interfaces import EventSink
from drivers.iso15118.link import ModuleLink, current_da, power_w
from drivers.iso15118.messages import CurrentLimit


class LinkedBridge:
    """The Iso15118Bridge commands, delegated to the module link."""

    _link: ModuleLink

    @property
    def connected(self) -> bool:
        """True while the module answers."""
        return self._link.connected

    @property
    def limit(self) -> CurrentLimit:
        """The limit last commanded (what the module gets at every handshake)."""
        return self._link.limit

    async def run(self, sink: EventSink) -> None:
        await self._link.run(sink)

    async def set_current_limit(self, amps: float | None) -> None:
        await self._link.set_limit(current_da(amps), self._link.limit.power_w)

    async def set_power_limit(self, watts: float | None) -> None:
        """DC: limit the EV's power to ``watts``; None lifts the power limit (the current one stays)."""
        await self._link.set_limit(self._link.limit.current_da, power_w(watts))

    async def send_authorization(self, accepted: bool) -> None:
        await self._link.send_authorization(accepted)

    # Version 2: an Iso15118CertificateBridge too.

    async def send_ev_certificate_response(self, request_id: int, accepted: bool, exi_response: bytes) -> None:
        await self._link.send_ev_certificate_response(request_id, accepted, exi_response)

    async def request_v2g_csr(self, common_name: str, organization: str, country: str) -> None:
        await self._link.request_v2g_csr(common_name, organization, country)

    async def set_v2g_certificate_chain(self, chain_pem: str) -> None:
        await self._link.set_v2g_certificate_chain(chain_pem)

    async def set_root_certificates(self, v2g_roots: Sequence[str], mo_roots: Sequence[str]) -> None:
        await self._link.set_root_certificates(v2g_roots, mo_roots)

    # Version 3: OCSP responses for the module's V2G chain.

    async def set_v2g_ocsp_responses(self, responses: Sequence[bytes]) -> None:
        await self._link.set_v2g_ocsp_responses(responses)
