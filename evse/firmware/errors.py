"""The firmware update's errors: each says which FirmwareStatus it ends in."""

from __future__ import annotations

from evse.errors import EvseError


class FirmwareError(EvseError):
    """Base of the firmware update's errors."""


class DownloadError(FirmwareError):
    """One download attempt failed; `retryable` is False when another attempt cannot help (too large)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class InstallFailed(FirmwareError):
    """The installer refused the image; `verification` when it found the image itself unfit
    (InstallVerificationFailed) rather than failing to write it (InstallationFailed)."""

    def __init__(self, message: str, *, verification: bool = False) -> None:
        super().__init__(message)
        self.verification = verification
