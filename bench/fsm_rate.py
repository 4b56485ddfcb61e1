"""Events per second of the pure EVSE state machine (evse.station.core.evse_fsm.transition), one thread.

A long random sequence of PilotChanged, Authorized, StopRequested, FaultChanged and OperativeChanged
is generated first (fixed seed), so only `transition` is timed. The transaction points are the
device model's defaults (TxStartPoint PowerPathClosed, TxStopPoint EVConnected,Authorized).
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass

from drivers.interfaces import FaultName, PilotState
from evse.station.core import evse_fsm as fsm

EVENTS = 200_000
ROUNDS = 3  # best of: the figure is the machine's, not a scheduler hiccup's
SEED = 20_261


@dataclass(frozen=True)
class FsmResult:
    events: int
    best_s: float
    actions: int  # actions returned over one pass
    transactions: int  # transactions started over one pass

    @property
    def per_second(self) -> float:
        return self.events / self.best_s


def random_events(count: int, seed: int = SEED) -> list[fsm.Event]:
    """Weighted towards the pilot and authorization, as a real station sees them; faults are rare."""
    rng = random.Random(seed)
    pilots = list(PilotState)
    tokens = [("AABBCCDD", "ISO14443"), ("DEADBEEF", "ISO14443"), ("12345678", "Central")]
    faults = [FaultName.RCD_TRIP, FaultName.METER_LOST, FaultName.CONTACTOR_WELDED]
    stops = [("StopAuthorized", "Local"), ("RemoteStop", "Remote"), ("ResetCommand", "ImmediateReset")]
    kinds = ["pilot", "authorized", "stop", "fault", "operative"]
    weights = [50, 25, 10, 10, 5]
    events: list[fsm.Event] = []
    for kind in rng.choices(kinds, weights, k=count):
        if kind == "pilot":
            events.append(fsm.PilotChanged(rng.choice(pilots)))
        elif kind == "authorized":
            token = rng.choice(tokens)
            events.append(fsm.Authorized(token[0], token[1]))
        elif kind == "stop":
            events.append(fsm.StopRequested(*rng.choice(stops)))
        elif kind == "fault":
            events.append(fsm.FaultChanged(rng.choice(faults), rng.random() < 0.5))
        else:
            events.append(fsm.OperativeChanged(rng.random() < 0.8))
    return events


def context() -> fsm.Context:
    counter = itertools.count(1)
    config = fsm.TxConfig(
        frozenset({fsm.TxPoint.PowerPathClosed}), frozenset({fsm.TxPoint.EVConnected, fsm.TxPoint.Authorized}), 32.0
    )
    return fsm.Context(config, lambda: f"tx-{next(counter)}")


def fsm_rate(count: int = EVENTS) -> FsmResult:
    events = random_events(count)
    best = float("inf")
    actions = transactions = 0
    for _ in range(ROUNDS):
        ctx = context()
        state = fsm.EvseState(evse_id=1)
        transition = fsm.transition
        actions = 0
        started = time.perf_counter()
        for event in events:
            state, out = transition(state, event, ctx)
            actions += len(out)
        best = min(best, time.perf_counter() - started)
        transactions = int(ctx.new_transaction_id().removeprefix("tx-")) - 1
    return FsmResult(count, best, actions, transactions)
