"""Desktop bridges: reaching a user's own machine (their Ollama) through a relay.

A desktop connects out to switchboard and keeps the connection open; switchboard relays
HTTP-shaped requests to it and streams the answers back. `ports` says what the relay
offers to providers and what a desktop connection must do; `schemas` holds the frames
that travel between them, correlated by request id.
"""
