"""What the station holds about one customer (OCPP 2.0.1 N09/N10), and forgetting it.

Data is held per idToken only: the Authorization Cache entry, the Local Authorization List entry and
the transactions in the journal that carry it. The station keeps nothing per customerIdentifier or
customer certificate, so for those the honest answer is "no data".
"""

from __future__ import annotations

from dataclasses import dataclass

from evse.station.core.tokens import token_key
from evse.station.shell.auth_store import AuthStore
from evse.station.shell.tx_journal import TxJournal


@dataclass(frozen=True)
class Cleared:
    """How many records a clear removed or stripped of the token."""

    cache: int
    local_list: int
    transactions: int

    def describe(self) -> str:
        return (
            f"Cleared: AuthorizationCache {self.cache}, LocalAuthorizationList {self.local_list},"
            f" transactions {self.transactions}"
        )


class CustomerData:
    """Reads and clears a token's records in the auth store and the transaction journal."""

    def __init__(self, auth: AuthStore, tx_journal: TxJournal) -> None:
        self._auth = auth
        self._tx_journal = tx_journal

    def describe(self, id_token: str, token_type: str) -> list[str]:
        """One line per record held for the token; empty when the station holds nothing."""
        key = token_key(id_token, token_type)
        lines: list[str] = []
        cached = self._auth.cache_get(key)
        if cached is not None:
            lines.append(
                f"AuthorizationCache: idToken {id_token} ({token_type}) status {cached.verdict.status.value},"
                f" stored {cached.stored_at.isoformat()}, last used {cached.last_used.isoformat()},"
                f" used {cached.use_count} times"
            )
        listed = self._auth.list_get(key)
        if listed is not None:
            group = f", group {listed.group.value}" if listed.group is not None else ""
            lines.append(
                f"LocalAuthorizationList: idToken {id_token} ({token_type}) status {listed.status.value}{group}"
            )
        open_ids = {record.transaction_id for record in self._tx_journal.open_transactions()}
        for record in self._tx_journal.of_token(id_token, token_type):
            energy = f", {record.last_energy_wh:.0f} Wh" if record.last_energy_wh is not None else ""
            state = "running" if record.transaction_id in open_ids else "ended"
            lines.append(
                f"Transaction {record.transaction_id}: EVSE {record.evse_id} connector {record.connector_id},"
                f" {state}{energy}"
            )
        return lines

    def clear(self, id_token: str, token_type: str) -> Cleared:
        key = token_key(id_token, token_type)
        cache = 1 if self._auth.cache_get(key) is not None else 0
        self._auth.cache_remove(key)
        local_list = int(self._auth.list_remove(key))
        transactions = self._tx_journal.forget_token(id_token, token_type)
        return Cleared(cache, local_list, transactions)
