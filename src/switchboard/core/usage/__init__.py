"""Usage: tokens and cost per user, recorded in batches off the hot path."""
