"""RFID readers: NXP PN532 (I2C, HSU/UART) and generic "one UID per line" serial readers.

Readers report :class:`drivers.interfaces.CardPresented` (ISO 14443 idTokens) and, when the reader
itself is in trouble, a fault named :data:`RFID_FAILURE`; what a card is allowed to do is the
station core's business.
"""

from typing import Final

#: Fault name reported while a reader is absent or not answering sensibly.
RFID_FAILURE: Final = "rfid_failure"
