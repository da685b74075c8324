"""Alembic migrations of the registry schema (run by :mod:`docgen.registry.schema`)."""
