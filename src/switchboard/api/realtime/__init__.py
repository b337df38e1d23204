"""Realtime plumbing for faces: SSE, WebSocket and Socket.IO, all fed by the event bus.

Nothing else writes to a socket: a face subscribes to the bus (after `TopicAccess` says
the caller may) and hands the subscription to one of these helpers.
"""
