"""Alembic migrations: the schema. Tests and `switchboard serve` apply them, never create_all."""
