"""The 2.0.1 edge of the token verdict (evse/ocpp/v201/tokens.py) loses nothing, and the auth store keeps
the idTokenInfo JSON it always wrote, so databases from before the neutral TokenVerdict read the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.tokens import (
    IdTokenInfoJson,
    id_token_from_token,
    info_from_verdict,
    list_entry_from_authorization_data,
    token_from_id_token,
    verdict_from_info,
)
from evse.station.core.tokens import token_key
from evse.station.core.tokens_neutral import (
    LocalListEntry,
    MessageFormat,
    PersonalMessage,
    Token,
    TokenKind,
    TokenStatus,
    TokenVerdict,
)
from evse.station.shell.auth_store import AuthStore
from evse.storage import open_database

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

EVERY_FIELD = {
    "status": "NotAtThisTime",
    "customData": {"vendorId": "org.example", "tier": {"level": 3, "names": ["gold", "ü"]}},
    "cacheExpiryDateTime": "2024-06-01T00:00:00Z",
    "chargingPriority": -3,
    "language1": "nl",
    "evseId": [2, 1],
    "groupIdToken": {
        "idToken": "GROUP-1",
        "type": "Central",
        "customData": {"vendorId": "org.example"},
        "additionalInfo": [
            {"additionalIdToken": "NL-ABC-123", "type": "ContractId", "customData": {"vendorId": "v", "x": 1}}
        ],
    },
    "language2": "en",
    "personalMessage": {
        "format": "UTF8",
        "content": "Tarief 0,35 €/kWh",
        "language": "nl",
        "customData": {"vendorId": "org.example"},
    },
}


@pytest.mark.parametrize(
    "payload",
    [EVERY_FIELD, {"status": "Accepted"}, {"status": "Blocked", "evseId": [1]}],
    ids=["every-field", "status-only", "evse-restricted"],
)
def test_idtokeninfo_round_trips_through_the_verdict_unchanged(payload: dict[str, object]) -> None:
    info = m.IdTokenInfoType.model_validate(payload)
    back = info_from_verdict(verdict_from_info(info))
    assert back == info
    assert back.model_dump_json(exclude_none=True) == info.model_dump_json(exclude_none=True)


def test_verdict_fields_are_the_idtokeninfo_fields() -> None:
    verdict = verdict_from_info(m.IdTokenInfoType.model_validate(EVERY_FIELD))
    assert verdict.status is TokenStatus.NotAtThisTime
    assert verdict.expires == datetime(2024, 6, 1, tzinfo=UTC)
    assert verdict.group is not None and verdict.group.value == "GROUP-1" and verdict.group.kind is TokenKind.Central
    assert verdict.group_value == "GROUP-1"
    assert verdict.evse_ids == (2, 1)
    assert verdict.personal_message is not None
    assert verdict.personal_message.content == "Tarief 0,35 €/kWh" and verdict.personal_message.language == "nl"
    assert (verdict.language, verdict.second_language, verdict.charging_priority) == ("nl", "en", -3)


def test_a_verdict_round_trips_through_idtokeninfo_unchanged() -> None:
    verdict = TokenVerdict(
        TokenStatus.Accepted,
        expires=NOW,
        group=Token("G", TokenKind.KeyCode),
        evse_ids=(1,),
        personal_message=PersonalMessage("hi", MessageFormat.ASCII),
    )
    assert verdict_from_info(info_from_verdict(verdict)) == verdict


def test_every_status_and_kind_exists_on_both_sides() -> None:
    """TokenStatus is the 2.0.1 set (which holds 1.6's five); TokenKind the 2.0.1 IdTokenEnumType."""
    assert {s.value for s in TokenStatus} == {s.value for s in m.AuthorizationStatusEnumType}
    assert {k.value for k in TokenKind} == {k.value for k in m.IdTokenEnumType}
    assert {f.value for f in MessageFormat} == {f.value for f in m.MessageFormatEnumType}


@pytest.mark.parametrize("kind", list(TokenKind))
def test_id_token_round_trips(kind: TokenKind) -> None:
    id_token = m.IdTokenType(
        idToken="AbC",
        type=m.IdTokenEnumType(kind.value),
        additionalInfo=[m.AdditionalInfoType(additionalIdToken="x", type="y")],
    )
    assert id_token_from_token(token_from_id_token(id_token)) == id_token


def test_auth_store_writes_the_idtokeninfo_json_the_csms_sent(tmp_path: Path) -> None:
    """Storage counts the bytes of what the CSMS sent: the stored text is that idTokenInfo, byte for byte."""
    conn = open_database(tmp_path)
    store = AuthStore(conn, IdTokenInfoJson())
    info = m.IdTokenInfoType.model_validate(EVERY_FIELD)
    key = token_key("CARD", "ISO14443")
    store.cache_put(key, verdict_from_info(info), NOW)
    [(text,)] = conn.execute("SELECT info FROM auth_cache").fetchall()
    assert text == info.model_dump_json(exclude_none=True)


def test_auth_store_reads_entries_written_before_the_neutral_verdict(tmp_path: Path) -> None:
    """A cache and list row as the store wrote them when it held m.IdTokenInfoType (no migration needed)."""
    conn = open_database(tmp_path)
    store = AuthStore(conn, IdTokenInfoJson())
    old = (
        '{"status":"Accepted","cacheExpiryDateTime":"2024-06-01T00:00:00Z",'
        '"groupIdToken":{"idToken":"G1","type":"Central"}}'
    )
    conn.execute(
        "INSERT INTO auth_cache(id_token, token_type, info, status, expires_at, stored_at, last_used, size)"
        " VALUES('card', 'ISO14443', ?, 'Accepted', NULL, 0, 0, 1)",
        (old,),
    )
    conn.execute("INSERT INTO auth_list(id_token, token_type, info, size) VALUES('card', 'ISO14443', ?, 1)", (old,))
    expected = TokenVerdict(
        TokenStatus.Accepted, expires=datetime(2024, 6, 1, tzinfo=UTC), group=Token("G1", TokenKind.Central)
    )
    cached = store.cache_get(token_key("CARD", "ISO14443"))
    assert cached is not None and cached.verdict == expected
    assert store.list_get(token_key("Card", "ISO14443")) == expected


def test_send_local_list_entries_become_neutral_entries() -> None:
    """D01.FR.16/17: an entry with idTokenInfo adds or replaces the token, one without removes it."""
    token = m.IdTokenType(idToken="CARD", type=m.IdTokenEnumType.ISO14443)
    with_info = m.AuthorizationData(idToken=token, idTokenInfo=m.IdTokenInfoType.model_validate(EVERY_FIELD))
    assert list_entry_from_authorization_data(with_info) == LocalListEntry(
        Token("CARD", TokenKind.ISO14443), verdict_from_info(m.IdTokenInfoType.model_validate(EVERY_FIELD))
    )
    removal = list_entry_from_authorization_data(m.AuthorizationData(idToken=token))
    assert removal.verdict is None and removal.token.value == "CARD"


def test_the_store_codec_writes_the_idtokeninfo_without_absent_fields_and_reads_it_back() -> None:
    codec = IdTokenInfoJson()
    assert codec.encode(TokenVerdict(TokenStatus.Blocked)) == '{"status":"Blocked"}'
    verdict = verdict_from_info(m.IdTokenInfoType.model_validate(EVERY_FIELD))
    text = codec.encode(verdict)
    assert text == m.IdTokenInfoType.model_validate(EVERY_FIELD).model_dump_json(exclude_none=True)
    assert codec.decode(text) == verdict
