"""Imports every module's ORM models so the metadata is complete (Alembic, tests)."""


def load_all() -> None:
    import service.auth.models  # noqa: F401
    import service.cycles.models  # noqa: F401
    import service.evaluations.models  # noqa: F401
    import service.incentives.models  # noqa: F401
    import service.kit.models  # noqa: F401
    import service.kpi.models  # noqa: F401
    import service.okr.models  # noqa: F401
    import service.org.models  # noqa: F401
    import service.scim.models  # noqa: F401
    import service.scoring.models  # noqa: F401
    import service.webhooks.models  # noqa: F401


def load_score_inputs() -> None:
    """Registers each module's score-input loader with service.scoring.service."""
    import service.evaluations.scoring_inputs  # noqa: F401
    import service.kpi.scoring_inputs  # noqa: F401
    import service.okr.scoring_inputs  # noqa: F401
