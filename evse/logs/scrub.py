"""Takes passwords and private keys out of log text before it is written to the log file or uploaded.

Two nets, because neither alone is enough:
- the secrets the station knows (the Basic-auth password from YAML or set by the CSMS, the base64 lines of
  the private keys in state_dir) are removed wherever they appear, whatever the line around them says;
- shapes that carry a secret are removed even when the value is unknown: a PEM private-key block (complete
  or cut), ``password=...``/``password: ...`` style pairs, an HTTP Authorization header, and the password of
  a ``scheme://user:password@host`` URL.

The file handler applies it to each record as it is written (in the writer thread), and GetLog applies it
again to every line it packs, so a line written before a secret became known is cleaned at upload.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

REDACTED = "***"
KEY_REDACTED = "[private key removed]"

_PEM_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL)
_PAIR = re.compile(
    r"(?i)((?:basic_?auth_?password|password|passwd|passphrase|pwd|secret|private_?key)\"?'?\s*[:=]\s*\"?'?)"
    r"([^\s\"',;}]+)"
)
_AUTHORIZATION = re.compile(r"(?i)(authorization\"?'?\s*[:=]\s*\"?'?(?:basic|bearer|digest)?\s*)([^\s\"',;}]+)")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]+:)([^\s/@]+)(@)")

#: A known secret shorter than this is not searched for: "1234" would shred every timestamp.
MIN_SECRET = 6


class Scrubber:
    """Removes secrets from log text; `remember` adds a known secret (thread-safe to read while replaced)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # A tuple swapped whole, so the writer thread never iterates over a set being changed.
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.remember(secret)

    def remember(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET and secret not in self._secrets:
            # Longest first: a secret that contains another is removed whole.
            self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))

    def remember_key_files(self, *paths: Path) -> None:
        """The base64 lines of private-key PEM files (a file, or every file of a directory such as the key
        store: *.key, *.pem ...), so even one line of a key logged alone is removed."""
        for path in paths:
            try:
                files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
            except OSError:
                continue  # an unreadable key store: nothing of it can have been logged from here either
            for file in files:
                try:
                    text = file.read_text(encoding="ascii", errors="replace")
                except OSError:
                    continue  # unreadable here means unreadable to whoever logged it too
                if "PRIVATE KEY-----" not in text:
                    continue  # a certificate is public
                for line in text.splitlines():
                    if line and not line.startswith("-----") and len(line) >= 16:
                        self.remember(line.strip())

    def scrub(self, text: str) -> str:
        text = _PEM_KEY.sub(KEY_REDACTED, text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
        text = _PAIR.sub(lambda m: m.group(1) + REDACTED, text)
        return _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
