"""The bundled development CSMS (``evse dev-csms``), also the integration tests' test double.

Built on the independent mobilityhouse ``ocpp`` library so that our station is checked against
someone else's reading of OCPP 2.0.1 and the official JSON schemas.
"""

from evse.devcsms.frames import (
    AuthAttempt,
    ConnectionRecord,
    DevCsmsError,
    Direction,
    Frame,
    InboundCall,
    InvalidStationMessage,
    MessageType,
    StationDisconnected,
    StationNotConnected,
)
from evse.devcsms.responses import DEFAULT_TOKENS, STATION_ACTIONS, RegistrationStatus, ResponseFn
from evse.devcsms.server import DevCsms, serve_forever, station_id_from_path

__all__ = [
    "DEFAULT_TOKENS",
    "STATION_ACTIONS",
    "AuthAttempt",
    "ConnectionRecord",
    "DevCsms",
    "DevCsmsError",
    "Direction",
    "Frame",
    "InboundCall",
    "InvalidStationMessage",
    "MessageType",
    "RegistrationStatus",
    "ResponseFn",
    "StationDisconnected",
    "StationNotConnected",
    "serve_forever",
    "station_id_from_path",
]
