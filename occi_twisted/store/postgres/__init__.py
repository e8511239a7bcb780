"""The PostgreSQL store: several nodes sharing one database (see :mod:`.store`)."""

from .store import PostgresStore

__all__ = ["PostgresStore"]
