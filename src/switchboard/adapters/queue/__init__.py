"""Job queues on taskiq: the in-memory broker by default, Redis streams when configured."""
