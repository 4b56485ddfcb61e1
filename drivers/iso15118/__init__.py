"""The ISO 15118 module bridge: CAN and serial drivers for an external SECC module (docs/iso15118-bridge.md)."""
