"""Firmware update (OCPP 2.0.1 L01 secure, L02 non-secure): the pure status sequence (update_plan), the
persisted job (job_store), the streamed download (download), the installers, and the shell that runs one
update at a time (updater). The signature check lives with the other security pieces
(evse/security/firmware_signature.py)."""
