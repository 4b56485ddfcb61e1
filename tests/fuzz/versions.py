"""The OCPP versions the fuzzer can aim at: what differs between a 2.0.1 and a 1.6J station at the RPC level.

The generators decide every expected answer in the 2.0.1 spelling (OCPP-J 2.0.1, Part 4, 4.3); the oracle
says it in the station's version through the station's own Dialect table (1.6 keeps FormationViolation and
OccurenceConstraintViolation, and has no RpcFrameworkError or MessageTypeNotSupported: both are a
FormationViolation). What the generators read and what the oracle validates with are the official schemas
of that version, from the `ocpp` package.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evse.ocpp.dialect import V16 as DIALECT_16
from evse.ocpp.dialect import V201 as DIALECT_201
from evse.ocpp.dialect import Dialect


@dataclass(frozen=True)
class FuzzVersion:
    """One OCPP version as the fuzz harness needs it."""

    name: str  # as YAML `csms.ocpp_version` spells it
    dialect: Dialect
    schema_dir: str  # ocpp/<schema_dir>/schemas in the `ocpp` package

    def schema_name(self, action: str, kind: str) -> str:
        """The schema file stem of `action`'s request (kind "Request") or response (kind "Response"):
        2.0.1 names them <Action>Request/<Action>Response, 1.6 <Action>/<Action>Response."""
        if self.name == "1.6" and kind == "Request":
            return action
        return f"{action}{kind}"

    def code(self, code: str) -> str:
        """A 2.0.1 CALLERROR code as this version's station says it."""
        return self.dialect.error_code(code)

    def codes(self, codes: Iterable[str]) -> frozenset[str]:
        return frozenset(self.code(code) for code in codes)


V201 = FuzzVersion("2.0.1", DIALECT_201, "v201")
V16 = FuzzVersion("1.6", DIALECT_16, "v16")
VERSIONS = {version.name: version for version in (V201, V16)}


def fuzz_version(name: str | None) -> FuzzVersion:
    """The version called `name` ("2.0.1" when None)."""
    return VERSIONS[name or V201.name]
