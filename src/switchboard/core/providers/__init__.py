"""Providers: which upstreams exist, whose credentials reach them, and how to call them."""
