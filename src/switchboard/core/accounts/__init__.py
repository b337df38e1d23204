"""Accounts: users, passwords, sessions, access/refresh tokens, API keys and principals."""
