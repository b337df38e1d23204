"""Jobs: durable background work with retries, progress, cancellation and schedules."""
