"""Tenant lifecycle: export a whole organization, import it into another deployment, and
delete it with everything it owns (docs/operations.md, "Tenant lifecycle").

An operations tool over the whole schema rather than a domain: it works from the
SQLAlchemy metadata, below every domain's rules, so it sits with the entry points
(the CLI and its admin routes) in the import layers (tests/test_layers.py)."""
