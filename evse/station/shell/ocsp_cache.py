"""M06: the OCSP status of contract certificates, asked through the CSMS (GetCertificateStatus) and kept
for as long as the response says it is valid (its nextUpdate).

The station has no route to an OCSP responder of its own (the CSMS is its only network peer), so the
CSMS relays the request; the answer is a DER OCSPResponse (base64), read here with `cryptography`.
Kept in the station database (table of part "ocsp") when the daemon attaches it, so a station that restarts
while offline still knows which chains were good and which revoked; in memory otherwise.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from drivers.interfaces import OcspRequestData
from evse.clock import Clock
from evse.errors import EvseError, StorageError
from evse.station.core.contract_auth import OcspEntry, OcspStatus
from evse.station.shell.wire_tokens import OcspAnswer
from evse.storage import Migration, migrate, transaction

log = logging.getLogger(__name__)

#: Without nextUpdate an OCSP response says "newer information is always available": it is used for
#: the authorization it was fetched for and then asked again, never cached for long.
NO_NEXT_UPDATE_VALIDITY = timedelta(seconds=0)

Key = tuple[str, str, str, str]
#: Joins a Key's fields in the database: a control character, which the bridge's printable ASCII never carries.
_SEPARATOR = "\x1f"

MIGRATIONS = [
    Migration(
        "ocsp",
        1,
        [
            # key: hash algorithm, issuer name hash, issuer key hash, serial (lower case, joined by _SEPARATOR);
            # next_update: ISO 8601 UTC, compared as text (one format, always with its offset).
            "CREATE TABLE ocsp_responses (key TEXT PRIMARY KEY, status TEXT NOT NULL, next_update TEXT NOT NULL,"
            " response TEXT NOT NULL)"
        ],
    )
]


def key_of(entry: OcspRequestData) -> Key:
    """Hashes compare case-insensitively (hex); the responder URL does not name the certificate."""
    return (
        entry.hash_algorithm.value,
        entry.issuer_name_hash.lower(),
        entry.issuer_key_hash.lower(),
        entry.serial_number.lower(),
    )


def parse_ocsp_result(result_b64: str, now: datetime) -> OcspEntry:
    """Read a base64 DER OCSPResponse; raises ValueError for anything but a successful response."""
    # Imported here: a station without Plug & Charge never loads `cryptography` (~11 MiB) for it.
    from cryptography.x509 import ocsp

    der = base64.b64decode(result_b64, validate=True)
    response = ocsp.load_der_ocsp_response(der)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ValueError(f"OCSP response status {response.response_status.name}")
    next_update = response.next_update_utc
    valid_until = next_update if next_update is not None else now + NO_NEXT_UPDATE_VALIDITY
    status = {
        ocsp.OCSPCertStatus.GOOD: OcspStatus.GOOD,
        ocsp.OCSPCertStatus.REVOKED: OcspStatus.REVOKED,
    }.get(response.certificate_status, OcspStatus.UNKNOWN)
    return OcspEntry(status, valid_until.astimezone(UTC), result_b64)


#: Asks the CSMS for one certificate's OCSP status (the station's wire: TokenWire.certificate_status).
AskStatus = Callable[[OcspRequestData], Awaitable[OcspAnswer]]


class OcspCache:
    """Cached OCSP answers per certificate (hash entry); `refresh` asks the CSMS for the stale ones."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[Key, OcspEntry] = {}
        self._db: sqlite3.Connection | None = None

    def attach(self, db: sqlite3.Connection) -> None:
        """Keep the answers in the station database from now on, and take back those still valid."""
        migrate(db, MIGRATIONS)
        self._db = db
        now = self._clock.now()
        for key, status, next_update, response in db.execute(
            "SELECT key, status, next_update, response FROM ocsp_responses"
        ):
            entry = OcspEntry(OcspStatus(status), datetime.fromisoformat(next_update), response)
            algorithm, name_hash, key_hash, serial = str(key).split(_SEPARATOR)
            if entry.next_update > now:
                self._entries[(algorithm, name_hash, key_hash, serial)] = entry

    def _store(self, key: Key, entry: OcspEntry) -> None:
        self._entries[key] = entry
        if self._db is None:
            return
        now = self._clock.now().astimezone(UTC).isoformat()
        try:
            with transaction(self._db):
                self._db.execute("DELETE FROM ocsp_responses WHERE next_update <= ?", (now,))
                self._db.execute(
                    "INSERT INTO ocsp_responses(key, status, next_update, response) VALUES(?, ?, ?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET status = excluded.status,"
                    " next_update = excluded.next_update, response = excluded.response",
                    (_SEPARATOR.join(key), entry.status.value, entry.next_update.isoformat(), entry.response_b64),
                )
        except (sqlite3.Error, StorageError) as exc:
            # A cache: the answer is still used from memory; the storage fault is the station's to report.
            log.warning("OCSP answer not stored: %s", exc)

    def lookup(self, entry: OcspRequestData) -> OcspEntry | None:
        """The cached answer while it is valid (None when absent or past its nextUpdate)."""
        found = self._entries.get(key_of(entry))
        if found is None or found.next_update <= self._clock.now():
            return None
        return found

    async def refresh(self, entries: tuple[OcspRequestData, ...], ask: AskStatus) -> list[OcspEntry | None]:
        """Each entry's status: from the cache while valid, else asked through the CSMS (M06). An entry
        the CSMS cannot answer (Failed, unreadable, no answer) is None: unchecked, not refused."""
        results: list[OcspEntry | None] = []
        for entry in entries:
            cached = self.lookup(entry)
            if cached is None:
                cached = await self.fetch(entry, ask)
            results.append(cached)
        return results

    async def fetch(self, entry: OcspRequestData, ask: AskStatus) -> OcspEntry | None:
        """Ask the CSMS now, whatever is cached; a usable answer replaces the cached one. None when the
        CSMS could not answer (Failed, unreadable, no answer): the cached answer, if any, stays."""
        now = self._clock.now()
        try:
            answer = await ask(entry)
        except (EvseError, TimeoutError, ConnectionError) as exc:
            log.warning("GetCertificateStatus: no answer (%s)", exc)
            return None
        if not answer.accepted or not answer.ocsp_result:
            log.info("GetCertificateStatus serial=%s: %s", entry.serial_number, answer.status)
            return None
        try:
            parsed = parse_ocsp_result(answer.ocsp_result, now)
        except ValueError as exc:
            log.warning("GetCertificateStatus serial=%s: unreadable OCSP response: %s", entry.serial_number, exc)
            return None
        log.info(
            "OCSP serial=%s status=%s until=%s",
            entry.serial_number,
            parsed.status.value,
            parsed.next_update.isoformat(),
        )
        if parsed.next_update > now:  # nothing to keep from an answer that is already stale
            self._store(key_of(entry), parsed)
        return parsed
