"""Tokens and verdicts to and from their OCPP 2.0.1 types (IdTokenType, IdTokenInfoType).

The station core judges tokens with the neutral values of evse/station/core/tokens_neutral.py; everything
that receives or sends a 2.0.1 message converts here. The conversions are lossless both ways (customData
travels as its JSON text), so `info_from_verdict(verdict_from_info(info)) == info`: the auth store keeps
writing the JSON the CSMS sent, and entries stored before the neutral values existed read back unchanged.
"""

from __future__ import annotations

from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.custom_data import custom_data, vendor_data
from evse.station.core.tokens_neutral import (
    AdditionalToken,
    LocalListEntry,
    MessageFormat,
    PersonalMessage,
    Token,
    TokenKind,
    TokenStatus,
    TokenVerdict,
)


def token_from_id_token(id_token: m.IdTokenType) -> Token:
    additional = tuple(
        AdditionalToken(item.additionalIdToken, item.type, vendor_data(item.customData))
        for item in id_token.additionalInfo or ()
    )
    return Token(id_token.idToken, TokenKind(id_token.type.value), additional, vendor_data(id_token.customData))


def id_token_from_token(token: Token) -> m.IdTokenType:
    additional = [
        m.AdditionalInfoType(additionalIdToken=item.value, type=item.kind, customData=custom_data(item.vendor_data))
        for item in token.additional
    ]
    return m.IdTokenType(
        idToken=token.value,
        type=m.IdTokenEnumType(token.kind.value),
        customData=custom_data(token.vendor_data),
        additionalInfo=additional or None,
    )


def personal_message(content: m.MessageContentType) -> PersonalMessage:
    return PersonalMessage(
        content.content, MessageFormat(content.format.value), content.language, vendor_data(content.customData)
    )


def _message_content(message: PersonalMessage) -> m.MessageContentType:
    return m.MessageContentType(
        format=m.MessageFormatEnumType(message.format.value),
        content=message.content,
        language=message.language,
        customData=custom_data(message.vendor_data),
    )


def verdict_from_info(info: m.IdTokenInfoType) -> TokenVerdict:
    """An idTokenInfo (AuthorizeResponse, TransactionEventResponse, SendLocalList, the auth store's JSON)."""
    return TokenVerdict(
        status=TokenStatus(info.status.value),
        expires=info.cacheExpiryDateTime,
        group=token_from_id_token(info.groupIdToken) if info.groupIdToken is not None else None,
        evse_ids=tuple(info.evseId or ()),
        personal_message=personal_message(info.personalMessage) if info.personalMessage is not None else None,
        language=info.language1,
        second_language=info.language2,
        charging_priority=info.chargingPriority,
        vendor_data=vendor_data(info.customData),
    )


def info_from_verdict(verdict: TokenVerdict) -> m.IdTokenInfoType:
    return m.IdTokenInfoType(
        status=m.AuthorizationStatusEnumType(verdict.status.value),
        customData=custom_data(verdict.vendor_data),
        cacheExpiryDateTime=verdict.expires,
        chargingPriority=verdict.charging_priority,
        language1=verdict.language,
        evseId=list(verdict.evse_ids) or None,
        groupIdToken=id_token_from_token(verdict.group) if verdict.group is not None else None,
        language2=verdict.second_language,
        personalMessage=_message_content(verdict.personal_message) if verdict.personal_message is not None else None,
    )


def list_entry_from_authorization_data(item: m.AuthorizationData) -> LocalListEntry:
    """One entry of a SendLocalListRequest; without idTokenInfo it removes the token (Differential)."""
    verdict = verdict_from_info(item.idTokenInfo) if item.idTokenInfo is not None else None
    return LocalListEntry(token_from_id_token(item.idToken), verdict)


class IdTokenInfoJson:
    """The auth store's text of a verdict (evse/station/shell/auth_store.py VerdictCodec): the idTokenInfo
    JSON the store has always written, without its absent fields, so rows written by earlier releases read
    back and an entry's size is that of what the CSMS sent."""

    @staticmethod
    def encode(verdict: TokenVerdict) -> str:
        return info_from_verdict(verdict).model_dump_json(exclude_none=True)

    @staticmethod
    def decode(text: str) -> TokenVerdict:
        return verdict_from_info(m.IdTokenInfoType.model_validate_json(text))
