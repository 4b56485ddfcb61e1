"""Smart charging (OCPP 2.0.1 block K): charging profiles, the composite schedule, and limits from other
sources (local energy manager, grid operator, load balancing between EVSEs)."""
