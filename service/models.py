"""Imports every module's ORM models so the metadata is complete (Alembic, tests)."""


def load_all() -> None:
    import service.auth.models  # noqa: F401
    import service.cycles.models  # noqa: F401
    import service.development.models  # noqa: F401
    import service.evaluations.models  # noqa: F401
    import service.incentives.models  # noqa: F401
    import service.kit.models  # noqa: F401
    import service.kpi.models  # noqa: F401
    import service.meetings.models  # noqa: F401
    import service.okr.models  # noqa: F401
    import service.org.models  # noqa: F401
    import service.scim.models  # noqa: F401
    import service.scoring.models  # noqa: F401
    import service.webhooks.models  # noqa: F401


def load_hooks() -> None:
    """Registers each module's hooks: score-input loaders (service.scoring.service), what
        happens when a cycle changes status (service.cycles.service.on_transition) and when a
        score of record is amended (service.scoring.records.on_amended), and the session
    events that keep stored scores fresh (service.scoring.freshness)."""
    import service.evaluations.scoring_inputs  # noqa: F401
    import service.incentives.corrections  # noqa: F401
    import service.kpi.scoring_inputs  # noqa: F401
    import service.okr.scoring_inputs  # noqa: F401
    import service.okr.workflow  # noqa: F401
    import service.scoring.freshness  # noqa: F401
    import service.scoring.policies  # noqa: F401
    import service.scoring.records  # noqa: F401
