"""The bundled development CSMS (``evse dev-csms``), also the integration tests' test double.

Built on the independent mobilityhouse ``ocpp`` library so that our station is checked against
someone else's reading of OCPP (2.0.1: ``DevCsms``, 1.6J: ``DevCsms16``) and the official JSON schemas.
"""

from evse.devcsms.csms_server import CsmsServer
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
from evse.devcsms.responses16 import STATION_ACTIONS_16, Transaction16
from evse.devcsms.server import DevCsms, serve_forever, station_id_from_path
from evse.devcsms.server16 import DevCsms16

__all__ = [
    "DEFAULT_TOKENS",
    "STATION_ACTIONS",
    "STATION_ACTIONS_16",
    "AuthAttempt",
    "ConnectionRecord",
    "CsmsServer",
    "DevCsms",
    "DevCsms16",
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
    "Transaction16",
    "serve_forever",
    "station_id_from_path",
]
