"""Imports every module's ORM models so the metadata is complete (Alembic, tests)."""


def load_all() -> None:
    import service.auth.models  # noqa: F401
    import service.cycles.models  # noqa: F401
    import service.kit.models  # noqa: F401
    import service.org.models  # noqa: F401
