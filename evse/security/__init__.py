"""Security of the station: TLS to the CSMS (profiles 2 and 3); certificates, keys and security events."""
