"""Security: TLS, certificates, keys, security events."""
