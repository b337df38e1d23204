"""Desktop bridge relays (`core.bridge.ports`): the in-memory one for one process."""

from .memory import MemoryBridgeRelay

__all__ = ["MemoryBridgeRelay"]
