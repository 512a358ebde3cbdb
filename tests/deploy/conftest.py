"""Fixtures of the deploy and operations tests: the webhook engine fixtures are reused to
measure delivery durations."""

from tests.webhooks.conftest import engine, hooks, receiver  # noqa: F401
