"""Turns: what produces an assistant reply (a responder) and the events it emits.

The conversation runner (`core.conversations.runner`) owns persistence; a responder only
turns history and options into a stream of turn events.
"""
