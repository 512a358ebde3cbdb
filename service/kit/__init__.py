"""Conventions written once and used by every module: pagination, ETags, idempotency,
audit and the outbox."""
