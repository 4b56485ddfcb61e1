"""Logs of the station (N01): the bounded diagnostics log file, and GetLog: selection by time, scrubbing of
secrets, packing as tar.gz, upload by HTTP(S) with retries."""
