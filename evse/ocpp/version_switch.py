"""Switching the OCPP version (or the CSMS) without reporting a transaction twice or losing one.

A transaction is reported to one CSMS in one version from its start to its end. When the YAML names
another `csms.ocpp_version` or `csms.url` than the last run used, and the station still has something for
the old one (queued messages, a transaction in progress), this run speaks the old version to the old CSMS
until its transactions have ended and its queue is empty, then restarts into the new one. With nothing
pending the switch happens at once. The journal records which version and CSMS each run used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from evse.config import Settings
from evse.ocpp.outbox import Outbox
from evse.station.shell.journal import Journal
from evse.station.shell.tx_journal import TxJournal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VersionPlan:
    settings: Settings  # what this run speaks, to whom
    switch_to: tuple[str, str] | None  # (version, url) to move to once drained; None: already there


def plan(settings: Settings, journal: Journal, outbox: Outbox, tx_journal: TxJournal) -> VersionPlan:
    configured = (settings.csms.ocpp_version, settings.csms.url)
    previous = journal.ocpp_endpoint()
    if previous is None or previous == configured or (len(outbox) == 0 and not tx_journal.open_transactions()):
        journal.set_ocpp_endpoint(*configured)
        return VersionPlan(settings, None)
    version, url = previous
    log.warning(
        "csms changes from OCPP %s at %s to OCPP %s at %s: finishing the old one's transactions and messages first",
        version,
        url,
        *configured,
    )
    csms = settings.csms.model_copy(update={"ocpp_version": version, "url": url})
    return VersionPlan(settings.model_copy(update={"csms": csms}), configured)


async def switch_when_drained(has_work: Callable[[], bool], restart: asyncio.Event, target: tuple[str, str]) -> None:
    """Once no transaction runs and nothing is queued for the old CSMS, restart into `target`."""
    # Polled: the outbox and the transactions have no common event to wait on.
    while has_work():  # noqa: ASYNC110
        await asyncio.sleep(1.0)
    log.warning("old CSMS drained: restarting to speak OCPP %s to %s", *target)
    restart.set()
