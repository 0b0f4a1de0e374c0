"""The system of record: SQLAlchemy 2 (async) over SQLite (embedded) or PostgreSQL
(distributed), Alembic migrations that run on both, and the transactional outbox."""
