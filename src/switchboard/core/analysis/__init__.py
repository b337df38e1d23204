"""Analyses: a two-step workflow (prompt optimizer, then an analyzer), query
quotas per user and month, and the query log."""
