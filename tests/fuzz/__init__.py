"""`make fuzz`: generated frames against the RPC layer and the handlers, in process and over a websocket."""
