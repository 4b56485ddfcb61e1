"""Plug & Charge authorization of an ISO 15118 contract (OCPP 2.0.1 C07, M06): the pure decisions. No I/O.

The shell (evse/station/shell/plug_and_charge.py) feeds them what the device model, the OCSP cache and
the CSMS said. The eMAID itself goes through the ordinary authorization rules (list, cache,
LocalAuthorizeOffline, OfflineTxForUnknownIdEnabled: evse/station/core/authorization.py); what this
module adds is what is special to a contract:

- ISO15118Ctrlr.PnCEnabled false: a contract is not authorized at all, nor refused (the driver uses EIM, C08).
- A contract chain whose OCSP status the station holds as revoked is refused without asking anyone.
- Offline (or the CSMS did not answer), the contract may only start on local data when
  ISO15118Ctrlr.ContractValidationOffline is true (C07 offline rules; TC_C_54 / TC_C_55).
- Online, the CSMS's certificateStatus must be Accepted as well as idTokenInfo.status.
- The certificate itself goes to the CSMS (AuthorizeRequest.certificate) only when the station has it,
  could not check the chain on its own (no hash data to ask OCSP about) and CentralContractValidationAllowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class ContractSettings:
    """The ISO15118Ctrlr variables C07 honours (defaults as in config/device_model/iso15118_ctrlr.yaml)."""

    pnc_enabled: bool = True
    contract_validation_offline: bool = True
    central_contract_validation_allowed: bool = False


class OcspStatus(StrEnum):
    """What an OCSP response said of one certificate of the chain (RFC 6960 CertStatus)."""

    GOOD = "Good"
    REVOKED = "Revoked"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class OcspEntry:
    """One cached OCSP answer: valid until ``next_update`` (UTC), as the response itself says (M06)."""

    status: OcspStatus
    next_update: datetime
    response_b64: str  # the OCSP response as the CSMS gave it, kept for whoever must staple it


class ChainCheck(StrEnum):
    """The station's own opinion of a contract chain from its OCSP cache."""

    VALID = "Valid"  # every entry has a fresh Good status
    REVOKED = "Revoked"  # some certificate of the chain is revoked (or its status is unknown to its CA)
    UNCHECKED = "Unchecked"  # nothing (fresh) to go by


def chain_check(statuses: Sequence[OcspEntry | None], now: datetime) -> ChainCheck:
    """Judge a chain from its entries' cached OCSP answers (None: nothing cached for that entry).

    A stale answer counts as none. An OCSP "unknown" is refused like a revocation: the CA does not vouch
    for the certificate, and RFC 6960 leaves that to local policy, which for money is "no".
    """
    fresh = [s for s in statuses if s is not None and s.next_update > now]
    if any(s.status is not OcspStatus.GOOD for s in fresh):
        return ChainCheck.REVOKED
    if statuses and len(fresh) == len(statuses):
        return ChainCheck.VALID
    return ChainCheck.UNCHECKED


def send_certificate(settings: ContractSettings, *, has_hash_data: bool, has_certificate: bool) -> bool:
    """Whether the AuthorizeRequest carries the contract certificate for the CSMS to validate (C07, TC_C_52).

    Only when the station cannot have the chain checked by OCSP itself (no hash data) and the CSMS is
    allowed to check it centrally; a station without the certificate (bridge v1) can only send the hash data.
    """
    return has_certificate and not has_hash_data and settings.central_contract_validation_allowed


class CertificateStatus(StrEnum):
    """The CSMS's word on the contract certificate (2.0.1 AuthorizeCertificateStatusEnumType)."""

    Accepted = "Accepted"
    SignatureError = "SignatureError"
    CertificateExpired = "CertificateExpired"
    CertificateRevoked = "CertificateRevoked"
    NoCertificateAvailable = "NoCertificateAvailable"
    CertChainError = "CertChainError"
    ContractCancelled = "ContractCancelled"


@dataclass(frozen=True)
class ContractVerdict:
    """What goes back to the module (``accepted``) and why, for the log and the CSMS's records."""

    accepted: bool
    reason: str
    certificate_status: CertificateStatus | None = None


def contract_ignored(settings: ContractSettings) -> bool:
    """ISO15118Ctrlr.PnCEnabled false: a contract is not authorized; the session waits for EIM (C08)."""
    return not settings.pnc_enabled


def before_authorizing(settings: ContractSettings, check: ChainCheck) -> ContractVerdict | None:
    """A verdict reached before the eMAID is looked at, or None to go on with the token rules.

    PnCEnabled is not judged here: with Plug & Charge off the module gets no answer at all (see
    :func:`contract_ignored`), since a refusal would end the session the driver may still start by EIM.
    """
    if check is ChainCheck.REVOKED:
        return ContractVerdict(False, "contract chain revoked (OCSP)", CertificateStatus.CertificateRevoked)
    return None


def after_authorizing(
    settings: ContractSettings,
    *,
    token_accepted: bool,
    judged_offline: bool,
    certificate_status: CertificateStatus | None,
) -> ContractVerdict:
    """The verdict once the token rules have spoken (``judged_offline``: without an answer of the CSMS)."""
    if judged_offline and not settings.contract_validation_offline:
        return ContractVerdict(False, "offline and ContractValidationOffline is false")
    if certificate_status is not None and certificate_status is not CertificateStatus.Accepted:
        return ContractVerdict(False, f"certificateStatus {certificate_status.value}", certificate_status)
    if not token_accepted:
        return ContractVerdict(False, "eMAID not accepted", certificate_status)
    return ContractVerdict(True, "offline rules" if judged_offline else "CSMS", certificate_status)
