"""TLS to the CSMS for security profiles 2 and 3 (OCPP 2.0.1 Part 2 A00, Part 4), and why a handshake failed.

- The client context: TLS 1.2 or newer; under TLS 1.2 only the suites the spec lists for a Charging Station
  (the two ECDHE-ECDSA AES-GCM ones, and the two TLS_RSA AES-GCM ones it allows for RSA CSMS certificates);
  TLS 1.3 keeps OpenSSL's defaults (all AES-GCM/ChaCha20 AEADs). The CSMS certificate is verified against
  the factory root (`ca_file`) plus any roots installed later (`extra_roots`, a directory of *.pem) and its
  name against the URL's host. Profile 3 presents the station's certificate.
- The scheme must fit the profile: wss:// for 2/3, ws:// for 0/1. A mismatch is a configuration error,
  never a silent downgrade.
- A failed handshake is classified into a `TlsFailure`, which names the cause in one log line and the OCPP
  security event type a later SecurityEventNotification reports. A CSMS that drops the connection without
  a TLS alert (asyncio servers do) is diagnosed by one probe handshake that accepts anything, sends no
  application data and is closed at once: what the server then picks tells version from cipher from
  client certificate.
"""

from __future__ import annotations

import enum
import logging
import socket
import ssl
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from websockets.exceptions import InvalidMessage

from evse.errors import ConfigError

log = logging.getLogger(__name__)

# OpenSSL names of TLS_ECDHE_ECDSA_WITH_AES_{128,256}_GCM_SHA{256,384} and TLS_RSA_WITH_AES_{128,256}_GCM_*.
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
)


def check_url_scheme(security_profile: int, url: str) -> None:
    """ConfigError unless the URL scheme fits the profile: TLS is never silently dropped (or added)."""
    scheme = urlsplit(url).scheme.lower()
    wanted = "wss" if security_profile >= 2 else "ws"
    if scheme != wanted:
        raise ConfigError(f"security_profile {security_profile} needs a {wanted}:// url, got {scheme}://")


def csms_root_files(ca_file: str | Path | None, extra_roots: Path | None) -> list[Path]:
    """The CSMS roots the station trusts: the factory `ca_file`, then those installed since (M05), one PEM
    file each in `extra_roots`. The TLS context and the check of a CertificateSigned chain (A02) both use it."""
    roots = [Path(ca_file)] if ca_file else []
    if extra_roots is not None and extra_roots.is_dir():
        roots += sorted(extra_roots.glob("*.pem"))
    return roots


def transfer_context(ca_file: str | Path | None, extra_roots: Path | None) -> ssl.SSLContext:
    """The SSLContext of an https file transfer (firmware download, log upload): TLS 1.2 or newer, verified
    against the CSMS roots the station trusts and not the system store, as for the CSMS itself, so a file
    comes from or goes to a server only the operator's PKI vouches for."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for root in csms_root_files(ca_file, extra_roots):
        try:
            context.load_verify_locations(cafile=str(root))
        except (OSError, ssl.SSLError) as exc:
            # One unreadable root must not hide the others; a failed handshake says the rest.
            log.warning("root %s not usable for file transfers: %s", root, exc)
    return context


def client_context(
    security_profile: int,
    *,
    ca_file: str | Path | None,
    client_cert: str | Path | None = None,
    client_key: str | Path | None = None,
    extra_roots: Path | None = None,
) -> ssl.SSLContext:
    """The SSLContext for a profile 2/3 connection; ConfigError (one line, naming the file) if unusable."""
    if security_profile < 2:
        raise ConfigError(f"security_profile {security_profile} does not use TLS")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(":".join(TLS12_CIPHERS))
    roots = csms_root_files(ca_file, extra_roots)
    if not roots:
        raise ConfigError(f"security_profile {security_profile} needs ca_file (the CSMS root certificate)")
    for root in roots:
        try:
            context.load_verify_locations(cafile=str(root))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"CSMS root certificate {root}: {_why(exc)}") from None
    if security_profile == 3:
        if not client_cert or not client_key:
            raise ConfigError("security_profile 3 needs client_cert and client_key")
        try:
            context.load_cert_chain(str(client_cert), str(client_key))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"client certificate {client_cert} / key {client_key}: {_why(exc)}") from None
    return context


def _why(exc: OSError | ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc).lower().replace("_", " ")
    return exc.strerror or str(exc)


class TlsFailure(enum.Enum):
    """Why a TLS connection to the CSMS failed; `.security_event` is the OCPP security event type to report."""

    UNKNOWN_CA = ("InvalidCsmsCertificate", "CSMS certificate not signed by an installed CSMS root")
    CERT_EXPIRED = ("InvalidCsmsCertificate", "CSMS certificate has expired")
    CERT_NOT_YET_VALID = ("InvalidCsmsCertificate", "CSMS certificate is not yet valid (check the clock)")
    HOSTNAME_MISMATCH = ("InvalidCsmsCertificate", "CSMS certificate does not name the host of the url")
    INVALID_CERTIFICATE = ("InvalidCsmsCertificate", "CSMS certificate is invalid")
    TLS_VERSION = ("InvalidTLSVersion", "CSMS offers no TLS version >= 1.2")
    NO_SHARED_CIPHER = ("InvalidTLSCipherSuite", "no TLS cipher suite in common with the CSMS")
    CLIENT_CERT_REFUSED = ("FailedToAuthenticateAtCsms", "CSMS refused the station's client certificate")
    CLIENT_CERT_REQUIRED = ("FailedToAuthenticateAtCsms", "CSMS requires a client certificate (profile 3)")
    NOT_TLS = (None, "CSMS does not speak TLS on this port")
    HANDSHAKE_FAILED = (None, "TLS handshake failed")

    def __init__(self, security_event: str | None, text: str) -> None:
        self.security_event = security_event
        self.text = text


@dataclass(frozen=True)
class TlsDiagnosis:
    """A classified failure and the detail (OpenSSL's words, the version or cipher the CSMS chose)."""

    failure: TlsFailure
    detail: str = ""

    def __str__(self) -> str:
        return f"TLS: {self.failure.text} ({self.detail})" if self.detail else f"TLS: {self.failure.text}"


# X509_V_ERR_* codes (OpenSSL x509_vfy.h) that say which check of the CSMS certificate failed.
_VERIFY_CODES = {
    2: TlsFailure.UNKNOWN_CA,  # unable to get issuer certificate
    9: TlsFailure.CERT_NOT_YET_VALID,
    10: TlsFailure.CERT_EXPIRED,
    18: TlsFailure.UNKNOWN_CA,  # self-signed leaf
    19: TlsFailure.UNKNOWN_CA,  # self-signed certificate in chain
    20: TlsFailure.UNKNOWN_CA,  # unable to get local issuer certificate
    21: TlsFailure.UNKNOWN_CA,  # unable to verify the first certificate
    62: TlsFailure.HOSTNAME_MISMATCH,
    64: TlsFailure.HOSTNAME_MISMATCH,  # IP address mismatch
}

# Alerts the CSMS sent (OpenSSL reason names, as the client reads them).
_ALERTS = {
    "TLSV1_ALERT_PROTOCOL_VERSION": TlsFailure.TLS_VERSION,
    "UNSUPPORTED_PROTOCOL": TlsFailure.TLS_VERSION,
    "NO_PROTOCOLS_AVAILABLE": TlsFailure.TLS_VERSION,
    "SSLV3_ALERT_HANDSHAKE_FAILURE": TlsFailure.NO_SHARED_CIPHER,
    "NO_SHARED_CIPHER": TlsFailure.NO_SHARED_CIPHER,
    "NO_CIPHERS_AVAILABLE": TlsFailure.NO_SHARED_CIPHER,
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": TlsFailure.CLIENT_CERT_REQUIRED,
    "TLSV1_ALERT_UNKNOWN_CA": TlsFailure.CLIENT_CERT_REFUSED,
    "SSLV3_ALERT_BAD_CERTIFICATE": TlsFailure.CLIENT_CERT_REFUSED,
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": TlsFailure.CLIENT_CERT_REFUSED,
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": TlsFailure.CLIENT_CERT_REFUSED,
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": TlsFailure.CLIENT_CERT_REFUSED,
    "SSLV3_ALERT_CERTIFICATE_REVOKED": TlsFailure.CLIENT_CERT_REFUSED,
    "TLSV1_ALERT_ACCESS_DENIED": TlsFailure.CLIENT_CERT_REFUSED,
    "WRONG_VERSION_NUMBER": TlsFailure.NOT_TLS,
}


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(exc: BaseException) -> TlsDiagnosis | None:
    """The cause named by the exception itself (a verify error or an alert), else None."""
    for link in _chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            failure = _VERIFY_CODES.get(link.verify_code, TlsFailure.INVALID_CERTIFICATE)
            return TlsDiagnosis(failure, str(link.verify_message))
        if isinstance(link, ssl.SSLError) and link.reason in _ALERTS:
            return TlsDiagnosis(_ALERTS[link.reason], str(link.reason).lower())
    return None


def handshake_cut(exc: BaseException) -> str | None:
    """'during' or 'after' when the CSMS closed the connection in or right after the TLS handshake.

    A CSMS on asyncio drops the socket without sending its alert, so the client only sees an EOF: during
    the handshake (TLS 1.2, or a refused ClientHello), or as the missing HTTP response once a TLS 1.3
    handshake completed on the client's side and the server then refused the client certificate.
    """
    chain = list(_chain(exc))
    if isinstance(exc, ConnectionResetError) and len(chain) == 1:
        return "during"
    if isinstance(exc, InvalidMessage) and any(isinstance(link, EOFError) for link in chain):
        return "after"
    return None


def worth_probing(exc: BaseException, diagnosis: TlsDiagnosis | None) -> bool:
    """Whether a probe handshake can name the cause better than the exception did.

    Yes when the CSMS closed without an alert, and for a bare handshake_failure alert: under TLS 1.2 a
    server sends that both for no common cipher and for a client certificate it requires but did not get.
    """
    if diagnosis is None:
        return handshake_cut(exc) is not None
    return diagnosis.failure is TlsFailure.NO_SHARED_CIPHER


def probe(host: str, port: int, *, client_cert: str | None, client_key: str | None, timeout: float) -> TlsDiagnosis:
    """Diagnose a CSMS that closed the handshake without an alert by one permissive handshake.

    Blocking (run it in a thread). It accepts any version and cipher and verifies nothing, because it only
    looks at what the CSMS picks; it sends no application data (no HTTP request, no password) and closes.
    The handshake runs over memory BIOs so the probe knows whether the CSMS answered the ClientHello at all.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # setting TLSv1 is deprecated: it is the point here
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    if client_cert and client_key:
        context.load_cert_chain(client_cert, client_key)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    answered = False
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        return TlsDiagnosis(TlsFailure.HANDSHAKE_FAILED, f"CSMS closed it; a probe could not reconnect: {exc}")
    try:
        with raw:

            def exchange() -> None:
                nonlocal answered
                raw.sendall(outgoing.read())
                data = raw.recv(65536)
                answered = answered or bool(data)
                if data:
                    incoming.write(data)
                else:
                    incoming.write_eof()

            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    exchange()
            raw.sendall(outgoing.read())
            version, cipher = tls.version() or "", (tls.cipher() or ("",))[0]
            if version == "TLSv1.3":
                # The client's side completes before the server checks the client certificate: a server
                # that refuses it closes now (alert or EOF); one that accepted it waits for the HTTP request.
                raw.settimeout(min(timeout, 1.0))
                try:
                    while True:
                        try:
                            tls.read(1)
                            break
                        except ssl.SSLWantReadError:
                            exchange()
                except TimeoutError:
                    pass
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return _refused(client_cert, "closed after the handshake")
                except ssl.SSLError as exc:
                    return classify(exc) or _refused(client_cert, _why(exc))
    except (ssl.SSLError, OSError) as exc:
        found = classify(exc)
        if found is not None and found.failure is not TlsFailure.NO_SHARED_CIPHER:
            return found
        if not answered:
            return TlsDiagnosis(TlsFailure.NOT_TLS, "no TLS answer to the ClientHello")
        # Even a handshake that accepts any version and cipher failed: what is left is the client certificate.
        return _refused(client_cert, _why(exc))
    if version in ("SSLv3", "TLSv1", "TLSv1.1"):
        return TlsDiagnosis(TlsFailure.TLS_VERSION, f"CSMS chose {version}")
    if version == "TLSv1.2" and cipher not in TLS12_CIPHERS:
        return TlsDiagnosis(TlsFailure.NO_SHARED_CIPHER, f"CSMS chose {cipher}")
    return TlsDiagnosis(TlsFailure.HANDSHAKE_FAILED, f"CSMS closed it, though it accepts {version} {cipher}")


def _refused(client_cert: str | None, detail: str) -> TlsDiagnosis:
    failure = TlsFailure.CLIENT_CERT_REFUSED if client_cert else TlsFailure.CLIENT_CERT_REQUIRED
    return TlsDiagnosis(failure, detail or "connection closed")
