"""The technician's web page: served by the daemon when ``web.enabled`` (see evse/web/server.py)."""
