"""The rules of switchboard: no web framework, no vendor SDK, no commit."""
