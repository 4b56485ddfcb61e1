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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evse.config import Settings
from evse.ocpp.network_profiles import NetworkProfiles
from evse.ocpp.outbox import Outbox
from evse.station.shell.journal import Journal
from evse.station.shell.tx_journal import TxJournal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VersionPlan:
    settings: Settings  # what this run speaks, to whom
    switch_to: tuple[str, str] | None  # (version, url) to move to once drained; None: already there


#: NetworkConnectionProfileType.ocppVersion -> csms.ocpp_version.
SLOT_VERSIONS = {"OCPP16": "1.6", "OCPP20": "2.0.1"}


def preferred_endpoint(priority: Sequence[str], profiles: NetworkProfiles) -> tuple[str, str] | None:
    """(version, url) of the first slot of NetworkConfigurationPriority when the CSMS stored a profile there
    (SetNetworkProfile, B09); None when that slot is the YAML's (or nothing is stored)."""
    stored = profiles.get(priority[0]) if priority else None
    return (SLOT_VERSIONS[stored.ocppVersion.value], stored.ocppCsmsUrl) if stored is not None else None


def plan(
    settings: Settings,
    journal: Journal,
    outbox: Outbox,
    tx_journal: TxJournal,
    preferred: tuple[str, str] | None = None,
) -> VersionPlan:
    """This run's version and CSMS: `preferred` (a network profile slot's) or the YAML's, unless the one the
    last run used still has messages queued or a transaction open."""
    configured = preferred or (settings.csms.ocpp_version, settings.csms.url)
    previous = journal.ocpp_endpoint()
    if previous is None or previous == configured or (len(outbox) == 0 and not tx_journal.open_transactions()):
        journal.set_ocpp_endpoint(*configured)
        return VersionPlan(_speaking(settings, *configured), None)
    log.warning(
        "csms changes from OCPP %s at %s to OCPP %s at %s: finishing the old one's transactions and messages first",
        *previous,
        *configured,
    )
    return VersionPlan(_speaking(settings, *previous), configured)


def _speaking(settings: Settings, version: str, url: str) -> Settings:
    if (settings.csms.ocpp_version, settings.csms.url) == (version, url):
        return settings
    csms = settings.csms.model_copy(update={"ocpp_version": version, "url": url})
    return settings.model_copy(update={"csms": csms})


async def switch_when_drained(has_work: Callable[[], bool], restart: asyncio.Event, target: tuple[str, str]) -> None:
    """Once no transaction runs and nothing is queued for the old CSMS, restart into `target`."""
    # Polled: the outbox and the transactions have no common event to wait on.
    while has_work():  # noqa: ASYNC110
        await asyncio.sleep(1.0)
    log.warning("old CSMS drained: restarting to speak OCPP %s to %s", *target)
    restart.set()
