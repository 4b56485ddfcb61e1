"""The OCPP 1.6 handlers of CSMS-initiated messages (docs/ocpp16-design.md 4.3)."""
