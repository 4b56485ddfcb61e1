"""The pure Plug & Charge decisions (evse/station/core/contract_auth.py): C07's ISO15118Ctrlr rules, M06's
OCSP cache judged by its nextUpdate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evse.station.core.contract_auth import (
    CertificateStatus,
    ChainCheck,
    ContractSettings,
    OcspEntry,
    OcspStatus,
    after_authorizing,
    before_authorizing,
    chain_check,
    contract_ignored,
    send_certificate,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REVOKED = CertificateStatus.CertificateRevoked


def entry(status: OcspStatus, valid_for_s: int = 3600) -> OcspEntry:
    return OcspEntry(status, NOW + timedelta(seconds=valid_for_s), "b64")


def test_a_chain_is_valid_only_when_every_entry_has_a_fresh_good_status() -> None:
    assert chain_check([entry(OcspStatus.GOOD), entry(OcspStatus.GOOD)], NOW) is ChainCheck.VALID
    assert chain_check([entry(OcspStatus.GOOD), None], NOW) is ChainCheck.UNCHECKED
    assert chain_check([], NOW) is ChainCheck.UNCHECKED


def test_a_stale_answer_counts_as_none_even_a_revocation() -> None:
    """M06: an OCSP answer is used until its nextUpdate, not after."""
    assert chain_check([entry(OcspStatus.GOOD, valid_for_s=0)], NOW) is ChainCheck.UNCHECKED
    assert chain_check([entry(OcspStatus.REVOKED, valid_for_s=-1)], NOW) is ChainCheck.UNCHECKED


def test_revoked_or_unknown_anywhere_in_the_chain_refuses_before_the_emaid_is_looked_at() -> None:
    assert chain_check([entry(OcspStatus.GOOD), entry(OcspStatus.REVOKED)], NOW) is ChainCheck.REVOKED
    assert chain_check([entry(OcspStatus.UNKNOWN), None], NOW) is ChainCheck.REVOKED
    verdict = before_authorizing(ContractSettings(), ChainCheck.REVOKED)
    assert verdict is not None and not verdict.accepted and verdict.certificate_status is REVOKED
    assert before_authorizing(ContractSettings(), ChainCheck.UNCHECKED) is None


def test_pnc_disabled_ignores_the_contract() -> None:
    assert contract_ignored(ContractSettings(pnc_enabled=False))
    assert not contract_ignored(ContractSettings())


def test_offline_needs_contract_validation_offline() -> None:
    """C07 offline: with ContractValidationOffline false even an accepted token does not start (TC_C_55)."""
    strict = ContractSettings(contract_validation_offline=False)
    assert not after_authorizing(strict, token_accepted=True, judged_offline=True, certificate_status=None).accepted
    assert after_authorizing(strict, token_accepted=True, judged_offline=False, certificate_status=None).accepted
    lenient = ContractSettings(contract_validation_offline=True)
    assert after_authorizing(lenient, token_accepted=True, judged_offline=True, certificate_status=None).accepted
    assert not after_authorizing(lenient, token_accepted=False, judged_offline=True, certificate_status=None).accepted


def test_certificate_status_must_be_accepted_too() -> None:
    """C07.FR.02: the CSMS's certificateStatus counts as much as idTokenInfo.status."""
    verdict = after_authorizing(
        ContractSettings(), token_accepted=True, judged_offline=False, certificate_status=REVOKED
    )
    assert not verdict.accepted and verdict.certificate_status is REVOKED
    good = CertificateStatus.Accepted
    assert after_authorizing(
        ContractSettings(), token_accepted=True, judged_offline=False, certificate_status=good
    ).accepted


def test_the_certificate_goes_to_the_csms_only_for_central_validation_without_hash_data() -> None:
    central = ContractSettings(central_contract_validation_allowed=True)
    assert send_certificate(central, has_hash_data=False, has_certificate=True)
    assert not send_certificate(central, has_hash_data=True, has_certificate=True)
    assert not send_certificate(central, has_hash_data=False, has_certificate=False)
    assert not send_certificate(ContractSettings(), has_hash_data=False, has_certificate=True)
