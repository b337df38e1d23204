"""Event bus adapters: in-process (memory) and Redis pub/sub."""
